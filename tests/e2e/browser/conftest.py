"""Browser tests: Playwright for Python driving the system Chromium against a real
`tradestats serve --demo` subprocess.

Needs `/usr/bin/chromium` (Debian package `chromium`) and the `playwright` Python package
(the dev extra); `playwright install` is never needed. Without either the tests skip with
the reason, except in CI (`CI` set), where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.browser import CHROMIUM, CHROMIUM_ARGS, SERVER_ARGS, BrowserPage, open_page
from support.servers import ServerProcess


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright_api() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"{CHROMIUM} not found: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_api: Any) -> Iterator[Any]:
    b = playwright_api.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One demo server shared by a module's tests (they do not change its state)."""
    server = ServerProcess(tmp_path_factory.mktemp("browser-data"), *SERVER_ARGS)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_page(browser: Any, demo_server: ServerProcess) -> Iterator[BrowserPage]:
    context, bp = open_page(browser, demo_server.url)
    yield bp
    context.close()

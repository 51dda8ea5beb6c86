"""Helpers of the browser tests (tests/e2e/browser): launch options, the CSP recorder, a
page wrapper that collects console errors and CSP violations."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("TRADESTATS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SERVER_ARGS = ("--demo", "--graceful-timeout", "3")
SCREENSHOTS = Path(os.environ.get("TRADESTATS_SCREENSHOT_DIR", "/tmp"))

# Records CSP violations from the first script on; Playwright's init scripts are exempt
# from the page's CSP, so this does not itself need 'unsafe-inline'.
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push({directive: e.violatedDirective, blocked: e.blockedURI,
                               source: e.sourceFile, line: e.lineNumber, sample: e.sample});
});
"""


@dataclass
class PageLog:
    """Everything the page complained about."""

    console: list[tuple[str, str]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)

    def errors(self, *, ignore: tuple[str, ...] = ()) -> list[str]:
        out = [f"console.{kind}: {text}" for kind, text in self.console if kind == "error"]
        out += [f"pageerror: {e}" for e in self.page_errors]
        out = [e for e in out if not any(part in e for part in ignore)]
        # Name the URLs: Chrome's "Failed to load resource" line does not.
        return [*out, f"(responses >= 400: {self.failed_responses})"] if out else out


@dataclass
class BrowserPage:
    page: Any
    log: PageLog
    base_url: str

    def goto(self, hash_: str = "") -> None:
        self.page.goto(f"{self.base_url}/{hash_}")

    def csp_violations(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.page.evaluate("window.__cspViolations || []")
        return result

    def screenshot(self, name: str) -> Path:
        path = SCREENSHOTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path


def open_page(
    browser: Any, base_url: str, *, timezone_id: str | None = None
) -> tuple[Any, BrowserPage]:
    options: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
    if timezone_id is not None:
        options["timezone_id"] = timezone_id
    context = browser.new_context(**options)
    page = context.new_page()
    page.set_default_timeout(15000)
    log = PageLog()
    page.on("console", lambda msg: log.console.append((msg.type, msg.text)))
    page.on("pageerror", lambda exc: log.page_errors.append(str(exc)))
    page.on(
        "response",
        lambda r: log.failed_responses.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    page.add_init_script(CSP_RECORDER)
    return context, BrowserPage(page, log, base_url)


# Every view, as the top bar and the screener reach it (settings only once registered).
VIEW_ROUTES = ("summary", "performance", "trades", "import", "screener", "ticker/AAPL", "settings")
# Chrome's console line for a response with status 503, which fault-injection tests provoke
# on purpose (Chrome names no URL in it; PageLog.failed_responses has them).
FAILED_503 = (
    "Failed to load resource: the server responded with a status of 503 (Service Unavailable)"
)
REPO_SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def screenshot_dir(basetemp: Path) -> Path:
    """Where a run keeps its view screenshots: ``$TRADESTATS_SCREENSHOT_DIR`` if set, else
    ``<pytest basetemp>/browser_screenshots``."""
    configured = os.environ.get("TRADESTATS_SCREENSHOT_DIR")
    directory = Path(configured) if configured else basetemp / "browser_screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def save_screenshot(bp: BrowserPage, directory: Path, name: str) -> Path:
    """A full-page PNG in `directory`, copied to ``test-output/screenshots/`` in the repo."""
    path = directory / name
    bp.page.screenshot(path=str(path), full_page=True)
    REPO_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, REPO_SCREENSHOTS / name)
    return path


def wait_view_settled(bp: BrowserPage, timeout_ms: float = 30000) -> None:
    """The view has rendered and none of its regions is still loading."""
    bp.page.wait_for_selector("#view > :not(.state-loading)", timeout=timeout_ms)
    bp.page.wait_for_function(
        "() => !document.querySelector('#view [aria-busy=\"true\"], #view .state-loading')",
        timeout=timeout_ms,
    )


def view_heading(bp: BrowserPage) -> str:
    headings = bp.page.locator("#view h2")
    return str(headings.first.inner_text()) if headings.count() else ""

"""Shared paths for importer tests (as fixtures: test modules import nothing from here)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "brokers"
SHARED = REPO / ".." / "shared" / "samples" / "brokers"


@pytest.fixture
def fixtures() -> Path:
    """tests/fixtures/brokers: permissively licensed samples and our own files."""
    return FIXTURES


@pytest.fixture
def shared_sample() -> Callable[[str], Path]:
    """Locate a sample that is not copied into the repo (GPL-3.0 or license unclear);
    skip the test when ../shared/samples is absent."""

    def locate(relative: str) -> Path:
        path = SHARED / relative
        if not path.is_file():
            pytest.skip(
                f"shared sample {relative} not available (looked in {SHARED.resolve()}); "
                "GPL samples are not copied into the repository"
            )
        return path

    return locate

"""Every view of the demo dashboard, rendered with its data and photographed: no console
error, no CSP violation, no error panel. The screenshots land under the pytest temp
directory (or ``$TRADESTATS_SCREENSHOT_DIR``) and in ``test-output/screenshots/``."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.browser import (
    REPO_SCREENSHOTS,
    BrowserPage,
    save_screenshot,
    screenshot_dir,
    view_heading,
    wait_view_settled,
)

# Per view: what must be on screen before the picture is taken (charts drawn by Plotly).
VIEWS = {
    "summary": [".kpis .kpi", ".grid-2 .chart .main-svg", ".calendar, .state-empty"],
    "performance": [".breakdown .main-svg"],
    "trades": ['[data-testid="trades-page"] tbody tr', ".pager"],
    "import": [".import-form", ".region table tbody tr"],
    "screener": [".scan-form", "table.scan-table tbody tr"],
    "ticker/AAPL": [".metrics .metric", ".term-chart .main-svg", ".history-chart .main-svg"],
    "settings": [".settings-form"],
}


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return screenshot_dir(tmp_path_factory.getbasetemp())


def run_scan(bp: BrowserPage) -> None:
    page = bp.page
    page.wait_for_selector(".scan-form")
    # Everything on the demo calendar passes the pre-filter: a fuller table.
    page.fill('input[name="min_price"]', "0")
    page.fill('input[name="min_avg_volume"]', "0")
    page.click('button:has-text("Start scan")')
    page.wait_for_selector('.scan-progress-box[data-status="done"]', timeout=60000)


@pytest.mark.parametrize("route", list(VIEWS))
def test_view_renders_clean_and_is_photographed(
    app_page: BrowserPage, shots: Path, route: str
) -> None:
    app_page.goto(f"#{route}")
    page = app_page.page
    wait_view_settled(app_page)
    if view_heading(app_page) == "Not found":
        pytest.skip(f"#{route} is not registered yet")
    if route == "screener":
        run_scan(app_page)
    for selector in VIEWS[route]:
        page.wait_for_selector(selector, timeout=30000)
    wait_view_settled(app_page)
    assert page.locator("#view .state-error").count() == 0
    page.wait_for_timeout(300)  # let Plotly finish its transitions before the picture
    name = f"{route.replace('/', '-')}.png"
    path = save_screenshot(app_page, shots, name)
    assert path.stat().st_size > 10_000
    assert (REPO_SCREENSHOTS / name).read_bytes() == path.read_bytes()
    assert app_page.log.errors() == []
    assert app_page.csp_violations() == []

"""The page against a server that fails on purpose (TRADESTATS_TEST_FAULTS, api/faults.py).

- Half of the API GETs answer 503 after a delay: every view still ends up showing its
  data, with no error panel left, through the client's retries (and the recovery of
  panels and breaker when retries alone are not enough).
- A POST whose handler ran but whose answer was replaced by a 503 (the client cannot
  tell it from a request that never arrived) is retried with the same Idempotency-Key:
  exactly one import and one scan exist afterwards, by the server's own counters.
- A panel that failed for good offers "Try again", which sends a new request.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from support.browser import (
    FAILED_503,
    BrowserPage,
    open_page,
    view_heading,
    wait_view_settled,
)
from support.servers import ServerProcess

SAMPLE = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "brokers"
    / "tastytrade"
    / "binnaculum_PfizerImportTest.csv"
)
# Everything the views read, but not liveness/readiness (the health monitor's probes).
API_DATA = r"^/api/(?!health$|ready$|_test/)"

# Per view: what shows that its data arrived.
VIEW_DATA = {
    "summary": ".kpis .kpi",
    "performance": ".breakdown",
    "trades": '[data-testid="trades-page"] tbody tr',
    "import": ".region table tbody tr",
    "screener": ".scan-form",
    "ticker/AAPL": ".metrics .metric",
    "settings": ".settings-form",
}
# Nothing is loading and no error panel is left; the view's data is there.
SETTLED_WITH_DATA = """selector => {
  const view = document.querySelector('#view');
  if (!view || view.querySelector('.state-loading, [aria-busy="true"], .state-error')) return false;
  return view.querySelector(selector) !== null;
}"""


@pytest.fixture(scope="module")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("faults-data")
    server = ServerProcess(
        data, "--demo", "--graceful-timeout", "3", env={"TRADESTATS_TEST_FAULTS": "true"}
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def page(browser: Any, fault_server: ServerProcess) -> Iterator[BrowserPage]:
    context, bp = open_page(browser, fault_server.url)
    yield bp
    context.close()


def set_faults(server: ServerProcess, **rules: Any) -> None:
    resp = requests.post(server.url + "/api/_test/faults", json=rules, timeout=10)
    assert resp.status_code == 200, resp.text


def fault_state(server: ServerProcess) -> dict[str, Any]:
    state: dict[str, Any] = requests.get(server.url + "/api/_test/faults", timeout=10).json()
    return state


def clear_faults(server: ServerProcess) -> dict[str, Any]:
    state: dict[str, Any] = requests.delete(server.url + "/api/_test/faults", timeout=10).json()
    return state


def injected_total(counters: dict[str, Any], phase: str) -> int:
    return sum(row.get(phase, 0) for row in counters["injected"].values())


def unexpected_console(bp: BrowserPage, allowed: int) -> list[str]:
    """Console errors other than Chrome's line for a 503, and more of those than the
    server injected."""
    lines = [text for kind, text in bp.log.console if kind == "error"]
    failed = [t for t in lines if t == FAILED_503]
    other = [t for t in lines if t != FAILED_503] + [f"pageerror: {e}" for e in bp.log.page_errors]
    if len(failed) > allowed:
        other.append(f"{len(failed)} failed-resource lines for {allowed} injected faults")
    return other


def test_the_server_warns_that_faults_are_on(fault_server: ServerProcess) -> None:
    ready = requests.get(fault_server.url + "/api/ready", timeout=10).json()
    assert ready["status"] == "warn"
    assert ready["checks"]["testFaults:enabled"][0]["status"] == "warn"
    assert "TEST FAULT INJECTION IS ENABLED" in fault_server.logs()


def test_every_view_loads_through_half_the_gets_failing(
    page: BrowserPage, fault_server: ServerProcess
) -> None:
    set_faults(
        fault_server,
        error_rate=0.5,
        status=503,
        latency_ms=300,
        paths=API_DATA,
        methods=["GET"],
        seed=1,
    )
    try:
        for route, selector in VIEW_DATA.items():
            page.goto(f"#{route}")
            wait_view_settled(page, timeout_ms=60000)
            if view_heading(page) == "Not found":
                assert route == "settings", f"#{route} is not registered"
                continue
            page.page.wait_for_function(SETTLED_WITH_DATA, arg=selector, timeout=120000)
            if route == "screener":
                page.page.wait_for_function(
                    "() => /compan(y|ies) reports? on/.test("
                    "document.querySelector('.scan-form')?.closest('.card')?.textContent ?? '')",
                    timeout=120000,
                )
    finally:
        state = clear_faults(fault_server)
    counters = state["counters"]
    # Faults really happened, on the data requests only, before any handler ran.
    assert injected_total(counters, "before") >= 3
    assert injected_total(counters, "after") == 0
    assert all(key.startswith("GET /api/") for key in counters["injected"])
    assert not any(re.search(r"/api/(health|ready)$", key) for key in counters["injected"])
    assert unexpected_console(page, injected_total(counters, "before")) == []
    # The filter is exact: Chrome did log the injected 503s in these words.
    assert ("error", FAILED_503) in page.log.console
    assert page.csp_violations() == []


def scan_jobs(server: ServerProcess) -> int:
    db = server.data_dir / "tradestats.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM jobs WHERE kind = 'scan'").fetchone()
    return int(count)


def test_post_answered_503_after_the_handler_ran_is_imported_once(
    page: BrowserPage, fault_server: ServerProcess
) -> None:
    before = requests.get(fault_server.url + "/api/imports?limit=500", timeout=10).json()
    assert not any(item["file_name"] == SAMPLE.name for item in before["items"])
    # The first two POSTs run, then their answers are replaced by 503.
    set_faults(
        fault_server, after_rate=1.0, limit=2, status=503, methods=["POST"], paths="^/api/imports$"
    )
    try:
        page.goto("#import")
        p = page.page
        p.wait_for_selector("#import-file", state="attached")
        p.set_input_files("#import-file", str(SAMPLE))
        p.fill("#import-account", "Faults")
        p.click('.import-form button[type="submit"]')
        p.wait_for_selector("section.card:has(h2:text-is('Import report'))", timeout=60000)
        report = p.inner_text("section.card:has(h2:text-is('Import report'))")
        assert "Already imported with this upload" in p.inner_text(".import-form")
        assert "nothing was imported again" in report
        state = fault_state(fault_server)
    finally:
        clear_faults(fault_server)
    counters = state["counters"]
    assert counters["injected"] == {"POST /api/imports": {"after": 2}}
    # Three attempts reached the handler: one created the import, two were replays.
    assert counters["handled"]["POST /api/imports"] == {"201": 1, "200": 2}
    after = requests.get(fault_server.url + "/api/imports?limit=500", timeout=10).json()
    assert after["total"] == before["total"] + 1
    mine = [item for item in after["items"] if item["file_name"] == SAMPLE.name]
    assert len(mine) == 1 and mine[0]["account"] == "Faults"
    assert f"#{mine[0]['id']}" in report
    assert unexpected_console(page, 2) == []


def test_scan_post_answered_503_after_the_handler_ran_starts_one_scan(
    page: BrowserPage, fault_server: ServerProcess
) -> None:
    scans_before = scan_jobs(fault_server)
    set_faults(
        fault_server, after_rate=1.0, limit=1, status=503, methods=["POST"], paths="^/api/scans$"
    )
    try:
        page.goto("#screener")
        p = page.page
        p.wait_for_selector(".scan-form")
        p.click('button:has-text("Start scan")')
        p.wait_for_selector('.scan-progress-box[data-status="done"]', timeout=60000)
        state = fault_state(fault_server)
    finally:
        clear_faults(fault_server)
    counters = state["counters"]
    assert counters["injected"] == {"POST /api/scans": {"after": 1}}
    assert counters["handled"]["POST /api/scans"] == {"202": 2}
    assert scan_jobs(fault_server) == scans_before + 1
    assert re.search(r"[?&]scan=[0-9a-f]+", p.url)
    assert page.page.locator("#view .state-error").count() == 0
    assert unexpected_console(page, 1) == []


def test_try_again_on_a_summary_panel_refetches(
    page: BrowserPage, fault_server: ServerProcess
) -> None:
    # One non-transient failure (409: nothing recovers it by itself): the panels that
    # share the failed /api/stats request show it; "Try again" must send a new request.
    set_faults(
        fault_server, error_rate=1.0, limit=1, status=409, methods=["GET"], paths="^/api/stats$"
    )
    try:
        page.goto("#summary")
        p = page.page
        panel = p.locator("#view .state-error:has-text('Statistics')")
        panel.wait_for(timeout=30000)
        assert panel.get_attribute("data-transient") is None
        assert p.locator(".kpis .kpi").count() == 0
        panel.locator("button:has-text('Try again')").click()
        p.wait_for_selector(".kpis .kpi", timeout=30000)
        wait_view_settled(page)
        assert p.locator("#view .state-error").count() == 0
        state = fault_state(fault_server)
    finally:
        clear_faults(fault_server)
    assert state["counters"]["injected"] == {"GET /api/stats": {"before": 1}}
    assert state["counters"]["handled"]["GET /api/stats"] == {"200": 1}
    conflict = "Failed to load resource: the server responded with a status of 409 (Conflict)"
    lines = [text for kind, text in page.log.console if kind == "error"]
    assert lines == [conflict]

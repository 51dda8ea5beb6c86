"""A real broker export imported through the page into an empty journal: the Summary's
KPI cards and equity curve and the Trades list show exactly what the library computes
from the same file (parsed, matched and measured here, in the test process)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from support.browser import BrowserPage, open_page, wait_view_settled
from support.servers import ServerProcess
from tradestats.journal.importers import parse_file
from tradestats.journal.matching import match_round_trips
from tradestats.stats import daily as dm
from tradestats.stats import trades as tm

# Tastytrade future-option fills (MIT, see tests/fixtures/NOTICE): wins, losses, fees.
SAMPLE = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "brokers"
    / "tastytrade"
    / "binnaculum_FutureOptions.csv"
)
ACCOUNT = "Browser import"
ZONE = "America/New_York"  # the browser's zone: the page asks for days in it
MINUS = "\u2212"


@dataclass(frozen=True)
class Expected:
    executions: int
    trades: int
    net: Decimal
    gross: Decimal
    fees: Decimal
    wins: int
    losses: int
    breakevens: int
    equity_days: int


def expected_from_library(path: Path) -> Expected:
    """Parse, match and measure the file with the library, as the server should."""
    parsed = parse_file(path)
    assert not parsed.rejections
    matched = match_round_trips(parsed.executions)
    trips = tm.closed_trips(matched.round_trips)
    net = tm.trade_pnls(trips, "net")
    gross = tm.trade_pnls(trips, "gross")
    days = dm.daily_pnl(matched.realizations, ZoneInfo(ZONE), "net")
    return Expected(
        executions=len(parsed.executions),
        trades=tm.trade_count(net),
        net=tm.total_pnl(net),
        gross=tm.total_pnl(gross),
        fees=tm.total_fees(trips),
        wins=tm.win_count(net),
        losses=tm.loss_count(net),
        breakevens=tm.breakeven_count(net),
        equity_days=len(days),
    )


def money(value: Decimal, *, signed: bool = False) -> str:
    """The page's money format (format.js): grouped, 2 digits, real minus, + on gains."""
    text = f"{abs(value):,.2f}"
    if value < 0 and text.strip("0.,"):
        return MINUS + text
    return f"+{text}" if signed and value > 0 else text


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """An empty journal: no demo account, nothing imported."""
    server = ServerProcess(tmp_path_factory.mktemp("journal-data"), "--graceful-timeout", "3")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def page(browser: Any, fresh_server: ServerProcess) -> Iterator[BrowserPage]:
    context, bp = open_page(browser, fresh_server.url, timezone_id=ZONE)
    yield bp
    context.close()


def kpi_cards(bp: BrowserPage) -> dict[str, tuple[str, str]]:
    cards: list[list[str]] = bp.page.eval_on_selector_all(
        ".kpis .kpi",
        """els => els.map(e => [e.querySelector('.kpi-label').textContent,
                              e.querySelector('.kpi-value').textContent,
                              e.querySelector('.kpi-sub')?.textContent ?? ''])""",
    )
    return {label: (value, sub) for label, value, sub in cards}


def test_import_through_the_page_then_summary_and_trades_match_the_library(
    page: BrowserPage, fresh_server: ServerProcess
) -> None:
    expected = expected_from_library(SAMPLE)
    assert expected.trades >= 5 and expected.wins and expected.losses and expected.fees > 0
    p = page.page

    # An empty journal says so and links to the import.
    page.goto("#summary")
    wait_view_settled(page)
    assert "No closed trades" in p.inner_text("#view")

    page.goto("#import")
    p.wait_for_selector("#import-file", state="attached")
    p.set_input_files("#import-file", str(SAMPLE))
    p.wait_for_selector(f"text={SAMPLE.name}")
    assert "Tastytrade" in p.inner_text(".import-form")  # the page's own guess
    p.fill("#import-account", ACCOUNT)
    p.click('.import-form button[type="submit"]')
    p.wait_for_selector("section.card:has(h2:text-is('Import report'))", timeout=30000)
    report = p.inner_text("section.card:has(h2:text-is('Import report'))")
    assert f"Imported {expected.executions} execution(s)." in report
    assert ACCOUNT in report
    # The history lists it once.
    p.wait_for_function(
        "n => document.querySelectorAll('.region table tbody tr').length === n", arg=1
    )

    # The server agrees with the library on what was stored.
    imports = requests.get(fresh_server.url + "/api/imports", timeout=10).json()
    assert imports["total"] == 1
    assert imports["items"][0]["imported"] == expected.executions
    assert imports["items"][0]["account"] == ACCOUNT

    # Summary: the KPI cards show exactly the library's numbers.
    page.goto("#summary")
    p.wait_for_selector(".kpis .kpi")
    wait_view_settled(page)
    cards = kpi_cards(page)
    net_value, net_sub = cards["Net P&L"]
    assert net_value == money(expected.net, signed=True)
    assert net_sub == f"Gross {money(expected.gross, signed=True)} · USD"
    decided = expected.wins + expected.losses
    rate_value, rate_sub = cards["Win rate"]
    assert rate_value == f"{expected.wins / decided * 100:.1f} %"
    assert rate_sub == f"{expected.wins} W · {expected.losses} L · {expected.breakevens} BE"
    assert cards["Expectancy"][1] == f"per trade · {expected.trades} trades"
    assert cards["Fees"][0] == money(expected.fees)

    # The equity curve is drawn by Plotly with one point per trading day.
    equity = p.locator(".grid-2 .card").first
    equity.locator(".main-svg").first.wait_for()
    assert equity.locator(".scatterlayer .trace path.js-line").count() >= 1
    plotted = equity.locator(".chart").evaluate(
        "gd => ({x: gd.data[0].x.length, calc: gd.calcdata[0].length,"
        " last: gd.data[0].y[gd.data[0].y.length - 1], first: gd.data[0].y[0]})"
    )
    assert plotted["x"] == expected.equity_days
    assert plotted["calc"] == expected.equity_days
    # Equity ends at the starting capital plus the net P&L.
    assert plotted["last"] == pytest.approx(10000 + float(expected.net), abs=0.005)

    # Trades: every round trip is listed.
    page.goto("#trades")
    rows = p.locator('[data-testid="trades-page"] tbody tr')
    p.wait_for_function(
        "n => document.querySelectorAll('[data-testid=\"trades-page\"] tbody tr').length === n",
        arg=expected.trades,
    )
    assert rows.count() == expected.trades
    assert f"of {expected.trades}" in p.inner_text(".pager")
    listed = requests.get(fresh_server.url + "/api/trades", timeout=10).json()
    assert listed["total"] == expected.trades

    assert page.log.errors() == []
    assert page.csp_violations() == []

"""A standalone HTML statistics report (one file, charts included, no network needed)."""

from __future__ import annotations

from collections import defaultdict
from html import escape
from typing import Any

from tradestats import __version__
from tradestats.journal.reports import ReportParams


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _charts(report: dict[str, Any]) -> str:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    equity = report["equity"]
    days = [p["date"] for p in equity]
    values = [p["equity"] for p in equity]
    peaks: list[float] = []
    for v in values:
        peaks.append(max(v, peaks[-1]) if peaks else v)
    drawdown = [v - p for v, p in zip(values, peaks, strict=True)]
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.05
    )
    fig.add_trace(go.Scatter(x=days, y=values, name="Equity", mode="lines"), row=1, col=1)
    fig.add_trace(
        go.Scatter(x=days, y=drawdown, name="Drawdown", fill="tozeroy", mode="lines"), row=2, col=1
    )
    fig.update_layout(
        height=480, margin={"l": 40, "r": 10, "t": 30, "b": 30}, title="Equity and drawdown"
    )
    monthly: dict[str, float] = defaultdict(float)
    for day in report["calendar"]:
        monthly[day["date"][:7]] += day["pnl"]
    months = sorted(monthly)
    bars = go.Figure(
        go.Bar(
            x=months,
            y=[round(monthly[m], 2) for m in months],
            marker_color=["#2e7d32" if monthly[m] >= 0 else "#c62828" for m in months],
        )
    )
    bars.update_layout(height=320, margin={"l": 40, "r": 10, "t": 30, "b": 30}, title="Monthly P&L")
    first: str = fig.to_html(full_html=False, include_plotlyjs=True)
    second: str = bars.to_html(full_html=False, include_plotlyjs=False)
    return first + second


def _breakdown_table(title: str, rows: list[dict[str, Any]]) -> str:
    body = "".join(
        f"<tr><td>{escape(str(r['key']))}</td><td>{r['count']}</td><td>{_pct(r['win_rate'])}</td>"
        f"<td>{_money(r['net_pnl'])}</td><td>{_money(r['gross_pnl'])}</td>"
        f"<td>{_money(r['fees'])}</td><td>{_num(r['profit_factor'])}</td></tr>"
        for r in rows
    )
    return (
        f"<h3>{escape(title)}</h3><table><thead><tr><th>{escape(title)}</th><th>Trades</th>"
        "<th>Win rate</th><th>Net P&amp;L</th><th>Gross P&amp;L</th><th>Fees</th>"
        f"<th>Profit factor</th></tr></thead><tbody>{body}</tbody></table>"
    )


def render_html(report: dict[str, Any], params: ReportParams) -> str:
    """The report as one HTML document; every value from the data is escaped."""
    kpis, daily = report["kpis"], report["daily"]
    filters = (
        ", ".join(
            f"{k}={v}"
            for k, v in (
                ("account", params.account),
                ("symbol", params.symbol),
                ("side", params.side),
                ("asset class", params.asset_class),
                ("tag", params.tag),
                ("from", params.start),
                ("to", params.end),
            )
            if v
        )
        or "all trades"
    )
    currency = f" in {escape(report['currency'])}" if report.get("currency") else ""
    cards = [
        ("Net P&L", _money(kpis["net_pnl"])),
        ("Gross P&L", _money(kpis["gross_pnl"])),
        ("Fees", _money(kpis["fees"])),
        ("Trades", str(kpis["count"])),
        ("Win rate", _pct(kpis["win_rate"])),
        ("Profit factor", _num(kpis["profit_factor"])),
        ("Expectancy", _money(kpis["expectancy"])),
        ("Max drawdown", _money(daily.get("max_drawdown"))),
        ("Sharpe", _num(daily.get("sharpe"))),
    ]
    card_html = "".join(
        f'<div class="card"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(value)}</div></div>'
        for label, value in cards
    )
    tables = "".join(
        _breakdown_table(name.replace("_", " ").title(), rows)
        for name, rows in report["breakdowns"].items()
        if name in ("symbol", "asset_class", "side", "weekday", "holding_time")
    )
    charts = _charts(report) if report["equity"] else "<p>No closed trades.</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tradestats report</title>
<style>
body {{ font: 14px/1.5 system-ui, sans-serif; margin: 2rem; color: #1d2733; }}
.cards {{ display: flex; flex-wrap: wrap; gap: .8rem; }}
.card {{ border: 1px solid #d9dee4; border-radius: .4rem; padding: .6rem 1rem; min-width: 9rem; }}
.label {{ color: #66717e; font-size: .85rem; }} .value {{ font-size: 1.2rem; font-weight: 600; }}
table {{ border-collapse: collapse; margin-bottom: 1.5rem; }}
td, th {{ border-bottom: 1px solid #e6e9ed; padding: .25rem .7rem; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
</style></head><body>
<h1>Trading statistics</h1>
<p>{escape(filters)} · {escape(report["basis"])} P&amp;L{currency}
 · days in {escape(report["timezone"])} · tradestats {escape(__version__)}</p>
<div class="cards">{card_html}</div>
{charts}
{tables}
</body></html>
"""

"""``tradestats scan``: run an earnings scan in this process with a progress bar.

Attach with ``main.add_command(scan_command)`` (and ``worker_command``) in ``cli.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import uuid
from typing import Any

import click

from tradestats.config import ConfigError, Settings
from tradestats.jobs.store import ScanEvent, ScanSnapshot
from tradestats.jobs.store_memory import MemoryScanStore

# The scan machinery (market service, resilience, metrics) is imported inside the
# commands: `tradestats serve` imports this module before it sets up multiprocess
# metrics, so importing prometheus_client here would break them.
DEFAULT_CONCURRENCY = 4  # tradestats.jobs.scan.DEFAULT_CONCURRENCY (test keeps them equal)

VERDICT_ORDER = {"Recommended": 0, "Consider": 1, "Avoid": 2}


def _settings(market_data: str | None) -> Settings:
    try:
        return Settings.load(overrides={"market_data": market_data})
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def sorted_results(snapshot: ScanSnapshot) -> list[dict[str, Any]]:
    """Analyzed tickers: Recommended first, then Consider, then Avoid; by ticker within."""
    results = [o for o in snapshot.outcomes if o["outcome"] == "result"]
    return sorted(
        results,
        key=lambda o: (VERDICT_ORDER.get(o["analysis"]["verdict"], 9), o["ticker"]),
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def render_table(snapshot: ScanSnapshot) -> str:
    header = (
        f"{'TICKER':<8} {'VERDICT':<12} {'PRICE':>9} {'IV30/RV30':>9} "
        f"{'SLOPE':>9} {'EXP MOVE':>8} {'AVG VOL':>12} TIMING"
    )
    lines = [header]
    for o in sorted_results(snapshot):
        a = o["analysis"]
        lines.append(
            f"{o['ticker']:<8} {a['verdict']:<12} {a['price']:>9.2f} "
            f"{_num(a['iv30_rv30'], '.2f'):>9} {_num(a['slope'], '.5f'):>9} "
            f"{_pct(a['expected_move']):>8} {_num(a['avg_volume'], ',.0f'):>12} "
            f"{o.get('timing') or '-'}"
        )
    skipped = [o for o in snapshot.outcomes if o["outcome"] != "result"]
    if skipped:
        lines.append("")
        lines.append("Not analyzed:")
        for o in sorted(skipped, key=lambda o: (o["outcome"], o["ticker"])):
            lines.append(f"  {o['ticker']:<8} {o['outcome']:<9} {o['reason']}")
    p = snapshot.progress
    lines.append("")
    lines.append(
        f"{p.get('total', 0)} on the calendar: {p.get('analyzed', 0)} analyzed, "
        f"{p.get('filtered_out', 0)} filtered out, {p.get('no_data', 0)} without data, "
        f"{p.get('errors', 0)} errors"
    )
    return "\n".join(lines)


@click.command("scan")
@click.option(
    "--date",
    "date_",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Earnings date (YYYY-MM-DD); default today.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the scan as JSON.")
@click.option("--min-price", type=float, default=2.5, show_default=True, help="Pre-filter, $.")
@click.option(
    "--min-avg-volume",
    type=float,
    default=1_500_000,
    show_default=True,
    help="Pre-filter: mean volume of the last 30 sessions.",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N tickers.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Tickers analyzed at once.",
)
@click.option(
    "--market-data",
    type=click.Choice(["demo", "yahoo"]),
    default=None,
    help="Market data provider. [env: TRADESTATS_MARKET_DATA]",
)
def scan_command(
    date_: dt.datetime | None,
    as_json: bool,
    min_price: float,
    min_avg_volume: float,
    limit: int | None,
    concurrency: int,
    market_data: str | None,
) -> None:
    """Screen the day's earnings calendar; print results sorted by verdict.

    Exit status: 0 when the scan completed, 1 when it failed (e.g. the earnings
    calendar was unavailable).
    """
    from tradestats.jobs.runner import default_market_factory
    from tradestats.jobs.scan import ScanFilters, run_scan

    settings = _settings(market_data)
    market = default_market_factory(settings)()
    if min_price < 0 or min_avg_volume < 0:
        raise click.UsageError("--min-price and --min-avg-volume must be >= 0")
    day = date_.date() if date_ is not None else dt.date.today()
    filters = ScanFilters(min_price=min_price, min_avg_volume=min_avg_volume, limit=limit)
    job_id = uuid.uuid4().hex
    with click.progressbar(length=1, label=f"Scanning {day.isoformat()}", file=sys.stderr) as bar:
        state = {"done": 0}

        def on_event(_job: str, event: ScanEvent) -> None:
            progress = event.data.get("progress") or {}
            total = int(progress.get("total", 0))
            if total and bar.length != total:
                bar.length = total
            done = int(progress.get("done", 0))
            if done > state["done"]:
                bar.update(done - state["done"])
            state["done"] = done

        store = MemoryScanStore(listener=on_event)
        store.create(job_id, {"date": day.isoformat(), "filters": filters.to_dict()})
        status = run_scan(job_id, day, filters, market, store, concurrency=concurrency)
    snapshot = store.get(job_id)
    assert snapshot is not None
    if as_json:
        doc = snapshot.to_dict()
        doc["results"] = sorted_results(snapshot)
        doc["source"] = market.source
        click.echo(json.dumps(doc, indent=2))
    else:
        if market.source == "demo":
            click.echo("DEMO DATA: synthetic market, not real prices\n")
        click.echo(render_table(snapshot))
    if status != "done":
        click.echo(f"error: scan {status}: {snapshot.error}", err=True)
        sys.exit(1)


@click.command("worker")
def worker_command() -> None:
    """Run an RQ worker for earnings scans (needs REDIS_URL). SIGTERM finishes the
    current scan, then exits."""
    from tradestats.jobs.worker import main

    main()

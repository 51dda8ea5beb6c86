"""Journal commands: ``tradestats import`` and ``tradestats report``."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from tradestats.config import Settings


def _engine(settings: Settings) -> Any:
    from tradestats.store.engine import build_engine
    from tradestats.store.migrate import upgrade

    engine = build_engine(settings)
    upgrade(engine)
    return engine


class _ProgressLine:
    """A one-line progress display on stderr (rows read, stage), at most 10 updates/s."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.last = 0.0
        self.started = time.monotonic()

    def __call__(self, stage: str, done: int, _total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and stage == "store"):
            return
        self.last = now
        label = {"store": "reading and storing", "match": "matching round trips"}.get(stage, stage)
        click.echo(f"\r{label}: {done:,} rows  {now - self.started:5.1f}s", nl=False, err=True)

    def close(self) -> None:
        if self.enabled:
            click.echo("", err=True)


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def register(
    main: click.Group, settings_options: Decorator, load_settings: Callable[..., Settings]
) -> None:
    @main.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--broker", help="Preset name (default: detected from the content).")
    @click.option("--account", default="default", show_default=True, help="Account name.")
    @click.option("--strict", is_flag=True, help="Store nothing if any row is rejected.")
    @click.option("--timezone", "tz", help="Zone for naive timestamps (default: preset's).")
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    @settings_options
    def import_command(
        file: Path,
        broker: str | None,
        account: str,
        strict: bool,
        tz: str | None,
        as_json: bool,
        **options: Any,
    ) -> None:
        """Import a broker export (CSV, XLSX or IBKR Flex XML) into the journal.

        Exit status: 0 imported; 1 strict mode with rejected rows (nothing stored) or an
        unusable file.
        """
        from tradestats.journal.importers import preset_names
        from tradestats.journal.importers.base import ImportFormatError
        from tradestats.journal.imports import import_file

        if broker and broker not in preset_names():
            raise click.UsageError(
                f"--broker: unknown preset {broker!r}; one of {', '.join(preset_names())}"
            )
        settings = load_settings(options)
        engine = _engine(settings)
        progress = _ProgressLine(sys.stderr.isatty() and not as_json)
        try:
            report = import_file(
                engine,
                file,
                file.name,
                account=account,
                broker=broker,
                strict=strict,
                timezone=tz,
                progress=progress,
            )
        except ImportFormatError as exc:
            progress.close()
            click.echo(f"error: {file.name}: {exc}", err=True)
            sys.exit(1)
        finally:
            engine.dispose()
        progress.close()
        if as_json:
            click.echo(json.dumps(report.to_dict(), indent=2))
        else:
            _print_import(report)
        sys.exit(1 if report.status == "rejected" else 0)

    @main.command("report")
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json", "html"]),
        default="table",
        show_default=True,
    )
    @click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        help="File to write (html default: tradestats-report.html).",
    )
    @click.option("--account")
    @click.option("--symbol")
    @click.option("--side", type=click.Choice(["long", "short"]))
    @click.option(
        "--asset-class",
        type=click.Choice(
            ["stock", "option", "future", "future_option", "crypto_spot", "crypto_perp", "forex"]
        ),
    )
    @click.option("--tag")
    @click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First exit day.")
    @click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last exit day.")
    @click.option("--tz", default="UTC", show_default=True, help="Zone for days.")
    @click.option("--basis", type=click.Choice(["net", "gross"]), default="net", show_default=True)
    @click.option(
        "--capital",
        type=float,
        default=10000.0,
        show_default=True,
        help="Starting capital for returns and drawdown %.",
    )
    @settings_options
    def report_command(
        fmt: str,
        output: Path | None,
        account: str | None,
        symbol: str | None,
        side: str | None,
        asset_class: str | None,
        tag: str | None,
        start: Any,
        end: Any,
        tz: str,
        basis: str,
        capital: float,
        **options: Any,
    ) -> None:
        """Print or write the statistics report of the journal (same numbers as the API)."""
        from zoneinfo import ZoneInfo

        from tradestats.journal.reports import MixedCurrencies, ReportParams, journal_report

        try:
            ZoneInfo(tz)
        except Exception:
            raise click.UsageError(f"--tz: unknown time zone {tz!r}") from None
        settings = load_settings(options)
        engine = _engine(settings)
        params = ReportParams(
            account=account,
            symbol=symbol,
            side=side,
            asset_class=asset_class,
            tag=tag,
            start=_day(start),
            end=_day(end),
            tz=tz,
            basis=basis,
            capital=Decimal(str(capital)),
        )
        try:
            report = journal_report(engine, params)
        except MixedCurrencies as exc:  # accounts in different base currencies
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        finally:
            engine.dispose()
        if fmt == "json":
            text = json.dumps(report, indent=2, default=str)
            _emit(text, output)
        elif fmt == "html":
            from tradestats.journal.html_report import render_html

            target = output or Path("tradestats-report.html")
            target.write_text(render_html(report, params), encoding="utf-8")
            click.echo(f"wrote {target}")
        else:
            _emit(_table(report), output)


def _day(value: Any) -> date | None:
    return value.date() if value is not None else None


def _emit(text: str, output: Path | None) -> None:
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text)


def _print_import(report: Any) -> None:
    verb = "REJECTED (strict: nothing stored)" if report.status == "rejected" else "imported"
    click.echo(f"{report.file_name}: {verb} as {report.broker} into account {report.account}")
    click.echo(
        f"  rows read {report.rows_read:,}  imported {report.imported:,}  "
        f"duplicates {report.duplicates:,}  rejected {report.rejected:,}"
    )
    if report.skipped:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(report.skipped.items()))
        click.echo(f"  not trades (skipped): {kinds}")
    for r in report.rejections[:50]:
        column = f" column {r['column']}" if r.get("column") else ""
        click.echo(f"  row {r['row']}{column}: {r['reason']}")
    if report.rejected > 50:
        listed = len(report.rejections)
        more = "use --json" if listed > 50 else "not listed"
        click.echo(f"  ... and {report.rejected - 50} more rejected rows ({more})")


_KPI_LABELS = (
    ("count", "Trades"),
    ("win_rate", "Win rate"),
    ("net_pnl", "Net P&L"),
    ("gross_pnl", "Gross P&L"),
    ("fees", "Fees"),
    ("profit_factor", "Profit factor"),
    ("expectancy", "Expectancy"),
    ("average_win", "Average win"),
    ("average_loss", "Average loss"),
    ("largest_win", "Largest win"),
    ("largest_loss", "Largest loss"),
)
_DAILY_LABELS = (
    ("max_drawdown", "Max drawdown"),
    ("max_drawdown_pct", "Max drawdown %"),
    ("sharpe", "Sharpe"),
    ("sortino", "Sortino"),
    ("calmar", "Calmar"),
)


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key.endswith(("rate", "pct")):
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _table(report: dict[str, Any]) -> str:
    currency = report.get("currency")
    money = f" in {currency}" if currency else ""
    lines = [f"basis: {report['basis']} P&L{money}, days in {report['timezone']}", ""]
    kpis, daily = report["kpis"], report["daily"]
    for key, label in _KPI_LABELS:
        lines.append(f"{label:<18} {_fmt(key, kpis.get(key)):>16}")
    for key, label in _DAILY_LABELS:
        lines.append(f"{label:<18} {_fmt(key, daily.get(key)):>16}")
    symbols = report["breakdowns"].get("symbol", [])
    if symbols:
        lines += ["", f"{'symbol':<24} {'trades':>7} {'win rate':>9} {'net P&L':>14}"]
        for row in sorted(symbols, key=lambda r: -abs(r["net_pnl"] or 0))[:15]:
            lines.append(
                f"{row['key'][:24]:<24} {row['count']:>7} "
                f"{_fmt('win_rate', row['win_rate']):>9} {row['net_pnl']:>14,.2f}"
            )
    return "\n".join(lines)

"""Command line: ``tradestats serve | db upgrade | health | analyze``.

Options are generated from `tradestats.config.FIELDS`, so ``--help`` documents every
setting with its environment variable, and the CLI and the environment cannot disagree.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from tradestats import __version__, cli_journal
from tradestats.config import FIELDS, ConfigError, Settings

_CLICK_TYPES: dict[str, Any] = {"int": int, "float": float, "str": str, "list": str}


def settings_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add one ``--option`` per setting (default None = take the environment's value)."""
    for f in reversed(FIELDS):
        if not f.cli:
            continue
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{f.help} [env: {f.env}]"
        if f.kind == "bool":
            option = click.option(
                f"{flag}/--no-{f.name.replace('_', '-')}", f.name, default=None, help=help_text
            )
        elif f.kind == "choice":
            option = click.option(
                flag,
                f.name,
                type=click.Choice(f.choices, case_sensitive=False),
                default=None,
                help=help_text,
            )
        else:
            option = click.option(
                flag,
                f.name,
                type=_CLICK_TYPES[f.kind],
                default=None,
                help=help_text,
                metavar=f.kind.upper(),
            )
        func = option(func)
    return func


def load_settings(options: dict[str, Any]) -> Settings:
    overrides = {k: v for k, v in options.items() if v is not None}
    try:
        return Settings.load(overrides=overrides)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tradestats")
def main() -> None:
    """tradestats: a self-hosted trading stats dashboard."""


@main.command()
@click.option(
    "--dev",
    is_flag=True,
    help="Flask's dev server (threaded, no reloader, loopback only). Not for production.",
)
@click.option(
    "--debugger",
    is_flag=True,
    help="With --dev: enable Werkzeug's interactive debugger (loopback only).",
)
@settings_options
def serve(dev: bool, debugger: bool, **options: Any) -> None:
    """Run the dashboard (gunicorn on Linux/macOS, waitress on Windows).

    Every option can also be set by the environment variable named in its help; a flag
    wins over the environment. SIGTERM or Ctrl+C drains in-flight requests, then exits.
    """
    if debugger and not dev:
        raise click.UsageError("--debugger: only available with --dev")
    settings = load_settings(options)
    from tradestats.server import serve as run_server

    try:
        code = run_server(settings, dev=dev, debugger=debugger)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    sys.exit(code)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@settings_options
def db_upgrade(**options: Any) -> None:
    """Apply database migrations up to the latest revision."""
    settings = load_settings(options)
    from tradestats.store.engine import build_engine
    from tradestats.store.migrate import current_revision, upgrade

    engine = build_engine(settings)
    try:
        upgrade(engine)
        click.echo(f"database at revision {current_revision(engine)}")
    except Exception as exc:  # report any driver/migration error as one line
        click.echo(f"error: migration failed: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    finally:
        engine.dispose()


@main.command()
@click.argument("url", required=False)
@click.option("--timeout", type=float, default=5.0, show_default=True, help="Seconds to wait.")
@settings_options
def health(url: str | None, timeout: float, **options: Any) -> None:
    """Print a server's health document and exit 0 (pass/warn) or 1 (fail/unreachable).

    URL defaults to http://HOST:PORT/api/health of the current settings; pass
    .../api/ready for readiness. TRADESTATS_TOKEN is sent as a bearer token if set.
    """
    import requests

    settings = load_settings(options)
    host = settings.host if settings.host not in ("0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
    host = f"[{host}]" if ":" in host else host
    target = url or f"http://{host}:{settings.port}/api/health"
    headers = {"Accept": "application/health+json"}
    if settings.token:
        headers["Authorization"] = f"Bearer {settings.token}"
    try:
        resp = requests.get(target, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        click.echo(f"error: {target} unreachable: {exc}", err=True)
        sys.exit(1)
    try:
        body = resp.json()
        click.echo(json.dumps(body, indent=2))
        status = body.get("status")
    except ValueError:
        click.echo(resp.text[:2000])
        status = None
    ok = resp.status_code == 200 and status in ("pass", "warn")
    if not ok:
        click.echo(f"unhealthy: HTTP {resp.status_code}, status {status!r}", err=True)
    sys.exit(0 if ok else 1)


@main.command()
@click.argument("ticker")
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as JSON.")
@settings_options
def analyze(ticker: str, as_json: bool, **options: Any) -> None:
    """Run the earnings volatility screen on TICKER and print it.

    Uses the configured market data (TRADESTATS_MARKET_DATA; demo data is labelled).
    Exit status: 0 analysed; 1 unknown ticker, no options or market data unavailable;
    2 invalid ticker or settings.
    """
    from tradestats.market.errors import MarketDataError, UpstreamUnavailable
    from tradestats.market.service import TICKER_PATTERN, build_market_service
    from tradestats.resilience.redis_support import redis_client

    settings = load_settings(options)
    symbol = ticker.strip().upper()
    if not TICKER_PATTERN.match(symbol):
        raise click.UsageError(
            f"TICKER: {ticker!r} is not a ticker (a letter, then up to 9 letters, digits, . or -)"
        )
    redis = redis_client(settings.redis_url) if settings.redis_url else None
    service = build_market_service(settings, redis)
    try:
        result = service.analysis(symbol)
    except UpstreamUnavailable as exc:
        wait = f" (retry in {exc.retry_after:.0f}s)" if exc.retry_after else ""
        click.echo(f"error: market data unavailable{wait}: {exc}", err=True)
        sys.exit(1)
    except MarketDataError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        service.close()
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(format_analysis(result))


def format_analysis(a: dict[str, Any]) -> str:
    """The analysis as a small human-readable table."""

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 100:.2f}%"

    def num(value: float | None, spec: str) -> str:
        return "n/a" if value is None else format(value, spec)

    def check(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    t = a["thresholds"]
    source = a["source"] + (" (synthetic demo data)" if a["source"] == "demo" else "")
    rows = [
        ("Ticker", a["ticker"], ""),
        ("Price", num(a["price"], ",.2f"), ""),
        (
            "Avg volume (30d)",
            num(a["avg_volume"], ",.0f"),
            f"{check(a['avg_volume_pass'])}  >= {t['min_avg_volume']:,.0f}",
        ),
        ("IV30", pct(a["iv30"]), ""),
        ("RV30", pct(a["rv30"]), ""),
        (
            "IV30 / RV30",
            num(a["iv30_rv30"], ".2f"),
            f"{check(a['iv30_rv30_pass'])}  >= {t['min_iv30_rv30']:g}",
        ),
        (
            "Term slope (0-45d)",
            num(a["slope"], ".5f"),
            f"{check(a['slope_pass'])}  <= {t['max_slope']:g}",
        ),
        ("Expected move", pct(a["expected_move"]), ""),
        ("Verdict", a["verdict"], ""),
        ("Source", source, ""),
        ("As of", a["asOf"] + ("  (STALE)" if a["stale"] else ""), ""),
    ]
    width = max(len(label) for label, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    lines = [
        f"{label:<{width}}  {value:<{value_width}}  {note}".rstrip() for label, value, note in rows
    ]
    lines += [f"warning: {w}" for w in a["warnings"]]
    return "\n".join(lines)


cli_journal.register(main, settings_options, load_settings)


def _register_scans() -> None:
    from tradestats.jobs.cli import scan_command

    main.add_command(scan_command)


@main.command()
@settings_options
def worker(**options: Any) -> None:
    """Run an RQ worker for earnings scans (needs REDIS_URL); SIGTERM finishes the current
    scan first. Run several, on one or more machines, sharing the same Redis and DB."""
    settings = load_settings(options)
    from tradestats.jobs.worker import run_worker
    from tradestats.telemetry.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    try:
        sys.exit(run_worker(settings))
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


_register_scans()


if __name__ == "__main__":
    main()

"""Journal benchmark: import, matching + statistics, the stats API, and pyfolio side by side.

On generated fills (``bench/gen_fills.py``: ~500 underlyings, stocks, options x100, index
futures, partial fills, scale in/out, shorts, flips, fees) in the generic CSV format:

1. ``import_file`` of N executions (default 1,000,000) into a fresh SQLite database, in a
   subprocess: wall time of the call (target <= 60 s at 1M) and the peak RSS of the whole
   importing process (``wait4`` rusage; target <= 2 GB). Phases come from the import's
   progress callback: parse + store, re-match (rebuild), commit.
2. ``match_round_trips`` over the N executions (loaded from that database as `Execution`
   objects, untimed) + ``full_report`` over its output, in-process (target <= 5 s at 1M);
   median of --repeat runs. Checks the totals against the generator's exact cash flow.
3. ``GET /api/stats`` on that database with ``tradestats serve`` (defaults: gunicorn
   gthread, workers = max(2, CPUs)): one warm-up request (cold latency), then --requests
   sequential requests, a new connection each (so the kernel spreads them over the
   workers), rotating filters; p50 (target <= 100 ms), p95, p99, max. Statistics are
   cached per journal version per worker process, so the first request per worker per
   filter is cold: those show up in p95/p99/max.
4. The baseline, side by side in this process: pyfolio-reloaded's ``extract_round_trips``
   and our ``match_round_trips`` (median of 3 runs) on the same stocks-only fills (default
   100,000) that end flat: same total gross P&L, and the speed ratio (target >= 20x).

Timings are wall clock (``perf_counter``) with CPU time alongside: on a loaded machine the
CPU figure is the steadier one. A calibration loop and the load average are printed.

Usage: python bench/journal.py [--executions N | --quick] [--json out.json]
       [--repeat 3] [--requests 200] [--pyfolio-fills 100000] [--workdir DIR [--reuse]]
       [--keep] [--skip-http] [--skip-pyfolio]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(ROOT / "tests"))  # support.servers.ServerProcess

import gen_fills  # noqa: E402

FULL_N = 1_000_000
TARGET_IMPORT_S = 60.0
TARGET_IMPORT_RSS_MB = 2048.0
TARGET_MATCH_REPORT_S = 5.0
TARGET_STATS_P50_MS = 100.0
TARGET_PYFOLIO_SPEEDUP = 20.0


@dataclass
class Row:
    figure: str
    measured: float | None
    unit: str
    target: str = ""
    ratio: str = ""
    verdict: str = ""
    note: str = ""


@dataclass
class Results:
    executions: int
    seed: int
    machine: dict[str, Any] = field(default_factory=dict)
    generate: dict[str, Any] = field(default_factory=dict)
    import_: dict[str, Any] = field(default_factory=dict)
    match_report: dict[str, Any] = field(default_factory=dict)
    http: dict[str, Any] = field(default_factory=dict)
    pyfolio: dict[str, Any] = field(default_factory=dict)
    table: list[Row] = field(default_factory=list)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def timed() -> Iterator[dict[str, float]]:
    out: dict[str, float] = {}
    wall, cpu = time.perf_counter(), time.process_time()
    yield out
    out["wall_s"] = time.perf_counter() - wall
    out["cpu_s"] = time.process_time() - cpu


def machine_info() -> dict[str, Any]:
    # A fixed pure-Python loop: compare this figure across machines/runs to normalize.
    loop_us = min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg(),
        "calibration_sum_range_1000_us": round(loop_us, 2),
    }


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def scaled(target: float, n: int) -> float:
    """A time target given for 1M executions, scaled linearly to n."""
    return target * n / FULL_N


def verdict(ok: bool, n: int, time_scaled: bool) -> str:
    if n == FULL_N or not time_scaled:
        return "PASS" if ok else "FAIL"
    return ("pass" if ok else "fail") + " (scaled)"


# --- 1. import (subprocess) ---------------------------------------------------------


def import_child(db_url: str, csv_path: str) -> int:
    """Run in the child process: migrate a fresh DB, import the file, print JSON."""
    from tradestats.config import Settings
    from tradestats.journal.imports import import_file
    from tradestats.store.engine import build_engine
    from tradestats.store.migrate import upgrade

    settings = Settings.load(env={"DATABASE_URL": db_url})
    engine = build_engine(settings)
    with timed() as mig:
        upgrade(engine)
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "match" and done == 0:
            marks["match_start"] = time.perf_counter()
        elif stage == "match" and done == 1:
            marks["match_end"] = time.perf_counter()

    path = Path(csv_path)
    load_start = os.getloadavg()[0]
    start = time.perf_counter()
    with timed() as run:
        report = import_file(engine, path, path.name, account="bench", progress=progress)
    end = time.perf_counter()
    load_end = os.getloadavg()[0]
    engine.dispose()
    hwm_kb = 0
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                hwm_kb = int(line.split()[1])
    phases = {
        "parse_store_s": marks.get("match_start", end) - start,
        "rematch_s": marks.get("match_end", end) - marks.get("match_start", end),
        "commit_s": end - marks.get("match_end", end),
    }
    print(
        json.dumps(
            {
                "migrate_s": mig["wall_s"],
                "wall_s": run["wall_s"],
                "cpu_s": run["cpu_s"],
                **phases,
                "vm_hwm_mb": hwm_kb / 1024,
                # wall time on a shared machine depends on the load: CPU time is steadier
                "load_avg_1m": [load_start, load_end],
                "report": {
                    k: v
                    for k, v in report.to_dict().items()
                    if k in ("status", "rows_read", "imported", "duplicates", "rejected", "broker")
                },
                "first_rejections": report.rejections[:3],
            }
        )
    )
    return 0


def run_import(db_path: Path, csv_path: Path) -> dict[str, Any]:
    db_url = f"sqlite:///{db_path}"
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--import-child", db_url, str(csv_path)],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"import subprocess failed with exit code {proc.returncode}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux: KiB
    result["process_cpu_s"] = usage.ru_utime + usage.ru_stime
    result["db_mb"] = sum(
        p.stat().st_size for p in db_path.parent.glob(db_path.name + "*")
    ) / 2**20
    return result


# --- 2. matching + full report (in-process) --------------------------------------------


def load_executions(db_path: Path) -> list[Any]:
    from sqlalchemy import select

    from tradestats.config import Settings
    from tradestats.store import journal_repo as repo
    from tradestats.store.engine import build_engine
    from tradestats.store.tables import accounts

    engine = build_engine(Settings.load(env={"DATABASE_URL": f"sqlite:///{db_path}"}))
    try:
        with engine.connect() as conn:
            name = conn.execute(select(accounts.c.name)).scalar_one()
            account = repo.get_or_create_account(conn, name)
            instruments = repo.load_instruments(conn)
            stored = repo.load_executions(conn, account, None, instruments)
    finally:
        engine.dispose()
    return [s.execution for s in stored]


def reconcile(result: Any, summary: gen_fills.GenSummary) -> dict[str, Any]:
    """Our totals vs the generator's exact cash flow (instruments that end flat) and fees."""
    open_symbols = set(summary.open_positions)
    gross_flat = sum(
        (rt.gross_pnl for rt in result.round_trips if rt.instrument.symbol not in open_symbols),
        Decimal(0),
    )
    fees = sum((rt.fees for rt in result.round_trips), Decimal(0)) + sum(
        (p.round_trip.fees for p in result.open_positions), Decimal(0)
    )
    expected_gross = Decimal(summary.expected_gross_cents) / 100
    expected_fees = Decimal(summary.total_fees_cents) / 100
    open_ours = {p.instrument.symbol: int(p.quantity) for p in result.open_positions}
    return {
        "gross_flat_instruments": float(gross_flat),
        "expected_gross": float(expected_gross),
        "fees": float(fees),
        "expected_fees": float(expected_fees),
        "open_positions": len(open_ours),
        "expected_open_positions": len(summary.open_positions),
        "ok": gross_flat == expected_gross
        and fees == expected_fees
        and open_ours == summary.open_positions,
    }


def run_match_report(executions: list[Any], repeat: int) -> tuple[dict[str, Any], Any]:
    from tradestats.journal.matching import match_round_trips
    from tradestats.stats.report import full_report

    runs = []
    result = None
    for _ in range(repeat):
        result = None
        gc.collect()
        with timed() as total:
            with timed() as match:
                result = match_round_trips(executions)
            with timed() as rep:
                report = full_report(result.round_trips, result.realizations)
        runs.append(
            {
                "match_s": match["wall_s"],
                "report_s": rep["wall_s"],
                "total_s": total["wall_s"],
                "cpu_s": total["cpu_s"],
            }
        )
        del report
    assert result is not None
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return {
        "runs": runs,
        "median": median,
        "min_total_s": min(r["total_s"] for r in runs),
        "round_trips": len(result.round_trips),
        "realizations": len(result.realizations),
        "open_positions": len(result.open_positions),
    }, result


# --- 3. GET /api/stats ------------------------------------------------------------------


FILTERS: tuple[dict[str, str], ...] = (
    {},
    {"side": "long"},
    {"asset_class": "option"},
    {"symbol": "SPY"},
    {"side": "short", "asset_class": "stock"},
)


def run_http(workdir: Path, db_path: Path, n_requests: int) -> dict[str, Any]:
    from support.servers import ServerProcess

    server = ServerProcess(workdir, env={"DATABASE_URL": f"sqlite:///{db_path}"})
    server.env.pop("TRADESTATS_WORKERS", None)  # serve's own default (max(2, CPUs))
    server.env["TRADESTATS_LOG_LEVEL"] = "WARNING"
    url = server.url + "/api/stats"
    latencies: list[tuple[str, float, int]] = []
    with timed() as startup:
        server.start(wait=True, timeout=180)
    try:

        def get(params: dict[str, str]) -> tuple[float, int]:
            began = time.perf_counter()
            # a new connection per request: the kernel spreads them over the workers
            resp = requests.get(url, params=params, timeout=300, headers={"Connection": "close"})
            elapsed = (time.perf_counter() - began) * 1000
            if resp.status_code != 200:
                raise SystemExit(f"GET /api/stats {params}: HTTP {resp.status_code} {resp.text}")
            resp.content  # noqa: B018 - the body is part of the latency
            return elapsed, len(resp.content)

        cold_ms, size = get({})
        first_seen: dict[str, float] = {}
        for i in range(n_requests):
            params = FILTERS[i % len(FILTERS)]
            label = "&".join(f"{k}={v}" for k, v in params.items()) or "(none)"
            ms, nbytes = get(params)
            latencies.append((label, ms, nbytes))
            first_seen.setdefault(label, ms)
    finally:
        server.stop()
    values = [ms for _, ms, _ in latencies]
    per_filter = {
        label: {
            "p50_ms": statistics.median(ms for lab, ms, _ in latencies if lab == label),
            "max_ms": max(ms for lab, ms, _ in latencies if lab == label),
            "first_ms": first_seen[label],
            "bytes": next(b for lab, _, b in latencies if lab == label),
        }
        for label in first_seen
    }
    return {
        "startup_s": startup["wall_s"],
        "cold_ms": cold_ms,
        "cold_bytes": size,
        "requests": len(values),
        "p50_ms": percentile(values, 50),
        "p95_ms": percentile(values, 95),
        "p99_ms": percentile(values, 99),
        "max_ms": max(values),
        "over_1s": sum(v > 1000 for v in values),
        "per_filter": per_filter,
    }


# --- 4. pyfolio side by side ----------------------------------------------------------------


def stock_executions(rows: list[list[str]]) -> list[Any]:
    from tradestats.journal.model import AssetClass, Execution, Instrument, Side

    instruments: dict[str, Instrument] = {}
    out = []
    for number, r in enumerate(rows, 1):
        symbol = r[1]
        inst = instruments.get(symbol)
        if inst is None:
            inst = instruments[symbol] = Instrument(symbol, AssetClass.STOCK, symbol)
        out.append(
            Execution(
                account="bench",
                instrument=inst,
                timestamp=datetime.fromisoformat(r[0]).astimezone(UTC),
                side=Side.BUY if r[2] == "buy" else Side.SELL,
                quantity=Decimal(r[3]),
                price=Decimal(r[4]),
                fees=Decimal(r[5]) + Decimal(r[6]),
                broker_execution_id=r[14],
                order_id=r[13],
                row=number,
            )
        )
    return out


def run_pyfolio(n: int, seed: int) -> dict[str, Any]:
    import warnings

    try:
        import pandas as pd

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "zipline.assets not found": not needed here
            from pyfolio.round_trips import extract_round_trips
    except ImportError as exc:
        print(
            f"\npyfolio-reloaded is not importable ({exc}); skipping the side-by-side part.\n"
            "  install it with: pip install pyfolio-reloaded  (proposed optional extra: "
            "bench = [\"pyfolio-reloaded>=0.9\"])\n",
            file=sys.stderr,
        )
        return {"skipped": str(exc)}

    from tradestats.journal.matching import match_round_trips

    rows, summary = gen_fills.generate(n, seed + 1, mix=gen_fills.STOCKS_ONLY, open_fraction=0)
    assert not summary.open_positions, "the pyfolio data set must end flat"
    executions = stock_executions(rows)
    frame = pd.DataFrame(
        {
            "amount": [int(r[3]) if r[2] == "buy" else -int(r[3]) for r in rows],
            "price": [float(r[4]) for r in rows],
            "symbol": [r[1] for r in rows],
        },
        index=pd.DatetimeIndex([r[0] for r in rows], name="dt"),
    )
    shares = int(frame.amount.abs().sum())
    del rows

    ours_runs = []
    for _ in range(3):  # ours is short, so a load spike weighs more: median of 3
        gc.collect()
        with timed() as run:
            result = match_round_trips(executions)
        ours_runs.append(run)
    ours = sorted(ours_runs, key=lambda r: r["wall_s"])[1]
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with timed() as theirs:
            trips = extract_round_trips(frame)
    ours_gross = sum((rt.gross_pnl for rt in result.round_trips), Decimal(0))
    theirs_pnl = float(trips.pnl.sum())
    expected = Decimal(summary.expected_gross_cents) / 100
    return {
        "fills": n,
        "shares": shares,
        "symbols": summary.instruments,
        "ours_runs_s": [r["wall_s"] for r in ours_runs],
        "ours_s": ours["wall_s"],
        "ours_cpu_s": ours["cpu_s"],
        "pyfolio_s": theirs["wall_s"],
        "pyfolio_cpu_s": theirs["cpu_s"],
        "speedup": theirs["wall_s"] / ours["wall_s"],
        "speedup_cpu": theirs["cpu_s"] / ours["cpu_s"],
        "ours_round_trips": len(result.round_trips),
        "pyfolio_round_trips": len(trips),
        "ours_gross_pnl": float(ours_gross),
        "pyfolio_pnl": theirs_pnl,
        "expected_gross_pnl": float(expected),
        "pnl_abs_diff": abs(theirs_pnl - float(ours_gross)),
        "ours_exact": ours_gross == expected,
        "same_pnl": abs(theirs_pnl - float(ours_gross)) < 0.01,
    }


# --- table ---------------------------------------------------------------------------------


def build_table(res: Results) -> list[Row]:
    n = res.executions
    rows: list[Row] = []
    imp = res.import_
    if imp:
        target = scaled(TARGET_IMPORT_S, n)
        rows.append(
            Row(
                f"import {n:,} executions (import_file, fresh SQLite)",
                imp["wall_s"],
                "s",
                f"<= {target:g} s" + ("" if n == FULL_N else " (scaled)"),
                f"{imp['wall_s'] / target:.2f}x of target",
                verdict(imp["wall_s"] <= target, n, True),
                f"CPU {imp['cpu_s']:.1f} s"
                + (
                    " (load avg {:.1f} -> {:.1f})".format(*imp["load_avg_1m"])
                    if "load_avg_1m" in imp
                    else ""
                )
                + f"; parse+store {imp['parse_store_s']:.1f} s, "
                f"re-match {imp['rematch_s']:.1f} s, commit {imp['commit_s']:.1f} s; "
                f"{imp['report']['imported']:,} imported, {imp['report']['rejected']} rejected"
                + (" (reused from an earlier run)" if imp.get("reused") else ""),
            )
        )
        rows.append(
            Row(
                "import peak RSS (whole process)",
                imp["peak_rss_mb"],
                "MB",
                f"<= {TARGET_IMPORT_RSS_MB:g} MB",
                f"{imp['peak_rss_mb'] / TARGET_IMPORT_RSS_MB:.2f}x of target",
                verdict(imp["peak_rss_mb"] <= TARGET_IMPORT_RSS_MB, n, False),
                f"VmHWM {imp['vm_hwm_mb']:.0f} MB; DB {imp['db_mb']:.0f} MB",
            )
        )
    mr = res.match_report
    if mr:
        med = mr["median"]
        target = scaled(TARGET_MATCH_REPORT_S, n)
        rows.append(
            Row(
                f"match_round_trips + full_report, {n:,} executions",
                med["total_s"],
                "s",
                f"<= {target:g} s" + ("" if n == FULL_N else " (scaled)"),
                f"{med['total_s'] / target:.2f}x of target",
                verdict(med["total_s"] <= target, n, True),
                f"median of {len(mr['runs'])}: match {med['match_s']:.2f} s + report "
                f"{med['report_s']:.2f} s (CPU {med['cpu_s']:.2f} s); "
                f"{mr['round_trips']:,} round trips; totals reconcile: "
                f"{'yes' if mr['reconcile']['ok'] else 'NO'}",
            )
        )
    http = res.http
    if http and "p50_ms" in http:
        rows.append(
            Row(
                f"GET /api/stats p50 ({http['requests']} sequential, rotating filters)",
                http["p50_ms"],
                "ms",
                f"<= {TARGET_STATS_P50_MS:g} ms",
                f"{http['p50_ms'] / TARGET_STATS_P50_MS:.2f}x of target",
                verdict(http["p50_ms"] <= TARGET_STATS_P50_MS, n, False),
                f"p95 {http['p95_ms']:.0f} ms, p99 {http['p99_ms']:.0f} ms, max "
                f"{http['max_ms']:.0f} ms, {http['over_1s']} over 1 s",
            )
        )
        rows.append(
            Row(
                "GET /api/stats cold (first request after start)",
                http["cold_ms"],
                "ms",
                "(no target)",
                "",
                "info",
                "loads round trips + realizations from the DB and computes the report",
            )
        )
    pf = res.pyfolio
    if pf and "speedup" in pf:
        rows.append(
            Row(
                f"vs pyfolio extract_round_trips, {pf['fills']:,} stock fills",
                pf["speedup"],
                "x faster",
                f">= {TARGET_PYFOLIO_SPEEDUP:g}x",
                f"{pf['speedup'] / TARGET_PYFOLIO_SPEEDUP:.2f}x of target",
                "PASS" if pf["speedup"] >= TARGET_PYFOLIO_SPEEDUP else "FAIL",
                f"ours {pf['ours_s']:.2f} s (median of 3), pyfolio {pf['pyfolio_s']:.2f} s "
                f"(CPU ratio {pf['speedup_cpu']:.1f}x)",
            )
        )
        rows.append(
            Row(
                "same total gross P&L as pyfolio",
                pf["pnl_abs_diff"],
                "$ diff",
                "< $0.01",
                "",
                "PASS" if pf["same_pnl"] and pf["ours_exact"] else "FAIL",
                f"ours {pf['ours_gross_pnl']:,.2f} (exact: {pf['ours_exact']}), pyfolio "
                f"{pf['pyfolio_pnl']:,.2f}; round trips {pf['ours_round_trips']:,} vs "
                f"{pf['pyfolio_round_trips']:,} (pyfolio: one per closing transaction, "
                "after merging same-side fills < 8 h apart)",
            )
        )
    elif pf:
        rows.append(Row("vs pyfolio", None, "", f">= {TARGET_PYFOLIO_SPEEDUP:g}x", "",
                        "skipped", pf.get("skipped", "")))
    return rows


def print_table(res: Results) -> None:
    m = res.machine
    print(
        f"\njournal benchmark: {res.executions:,} executions, seed {res.seed}; "
        f"{m['cpus']} CPUs, Python {m['python']}; load avg at start "
        f"{' '.join(f'{x:.2f}' for x in m['load_avg'])}, at end "
        f"{' '.join(f'{x:.2f}' for x in m.get('load_avg_end', ()))}; calibration "
        f"sum(range(1000)) = {m['calibration_sum_range_1000_us']:.1f} us\n"
    )
    widths = (56, 12, 22, 20, 16)
    header = ("figure", "measured", "target", "ratio", "verdict")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-" * (sum(widths) + 8))
    for r in res.table:
        measured = "-" if r.measured is None else f"{r.measured:,.2f} {r.unit}"
        cells = (r.figure, measured, r.target, r.ratio, r.verdict)
        print("  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)))
        if r.note:
            print(f"    {r.note}")
    print()


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=FULL_N)
    parser.add_argument("--quick", action="store_true", help="100,000 executions")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="match + report runs")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--pyfolio-fills", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, help="keep the CSV and DB here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workdir")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --workdir: reuse its CSV, DB and step-1 figures from an earlier run",
    )
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-pyfolio", action="store_true")
    parser.add_argument("--json", type=Path, help="write all figures here")
    parser.add_argument("--import-child", nargs=2, metavar=("DB_URL", "CSV"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.import_child:
        return import_child(*args.import_child)
    n = 100_000 if args.quick else args.executions

    res = Results(executions=n, seed=args.seed, machine=machine_info())
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tradestats-bench-journal-"))
    workdir.mkdir(parents=True, exist_ok=True)
    csv_path = workdir / f"fills-{n}-{args.seed}.csv"
    db_path = workdir / "journal.db"
    try:
        summary_path = csv_path.with_suffix(".summary.json")
        import_path = workdir / "import-result.json"
        reuse = (
            args.reuse
            and csv_path.exists()
            and summary_path.exists()
            and db_path.exists()
            and import_path.exists()
        )
        if reuse:
            log(f"reusing {csv_path} and {db_path} (figures of step 1 from {import_path})")
            summary = gen_fills.GenSummary(**json.loads(summary_path.read_text()))
        else:
            log(f"generating {n:,} fills -> {csv_path}")
            summary = gen_fills.generate_csv(csv_path, n, args.seed)
            summary_path.write_text(json.dumps(asdict(summary)))
        res.generate = {k: v for k, v in asdict(summary).items() if k != "open_positions"} | {
            "open_positions": len(summary.open_positions),
            "csv_mb": csv_path.stat().st_size / 2**20,
        }
        log(
            f"  {summary.rows:,} rows, {summary.instruments:,} instruments, "
            f"{summary.units:,} positions, {summary.flips:,} flips, "
            f"{len(summary.open_positions)} left open; {summary.seconds:.1f} s"
        )

        if reuse:
            res.import_ = json.loads(import_path.read_text()) | {"reused": True}
        else:
            for p in workdir.glob(db_path.name + "*"):
                p.unlink()
            import_path.unlink(missing_ok=True)
            log("1. import_file in a subprocess")
            res.import_ = run_import(db_path, csv_path)
            import_path.write_text(json.dumps(res.import_))
        log(f"  {res.import_['wall_s']:.1f} s, peak RSS {res.import_['peak_rss_mb']:.0f} MB")

        log("2. match_round_trips + full_report in-process (loading executions, untimed)")
        with timed() as load:
            executions = load_executions(db_path)
        log(f"  loaded {len(executions):,} executions in {load['wall_s']:.1f} s")
        mr, result = run_match_report(executions, args.repeat)
        mr["load_s"] = load["wall_s"]
        mr["reconcile"] = reconcile(result, summary)
        res.match_report = mr
        log(f"  median {mr['median']['total_s']:.2f} s; reconcile {mr['reconcile']}")
        del executions, result
        gc.collect()

        if not args.skip_http:
            log(f"3. GET /api/stats: tradestats serve, 1 cold + {args.requests} requests")
            res.http = run_http(workdir, db_path, args.requests)
            log(f"  cold {res.http['cold_ms']:.0f} ms, p50 {res.http['p50_ms']:.1f} ms")

        if not args.skip_pyfolio:
            pf_n = min(args.pyfolio_fills, 20_000) if args.quick else args.pyfolio_fills
            log(f"4. pyfolio extract_round_trips vs match_round_trips, {pf_n:,} stock fills")
            res.pyfolio = run_pyfolio(pf_n, args.seed)
            if "speedup" in res.pyfolio:
                log(f"  {res.pyfolio['speedup']:.1f}x")
    finally:
        if args.workdir is None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif args.workdir is None:
            log(f"kept {workdir}")

    res.machine["load_avg_end"] = os.getloadavg()
    res.machine["bench_max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res.table = build_table(res)
    print_table(res)
    if args.json:
        args.json.write_text(json.dumps(asdict(res), indent=2, default=str))
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

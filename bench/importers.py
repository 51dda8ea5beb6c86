"""Broker importer benchmark: every broker sample through the real import path.

For each file under ``../shared/samples/brokers/`` and ``tests/fixtures/brokers/``:
``import_file`` (auto-detected preset, one transaction, re-matching) into a fresh SQLite
database in a temporary directory — a copy of one migrated template, so migrations are
not timed. Best of --repeat runs (default 3), each on its own fresh database; the cold
first run is shown beside it. Prints one row per sample: preset, rows read, imported,
duplicates, rejected, skipped by kind, wall and CPU seconds, and the verdict against the
target of issue 6 item 7 (each import < 2 s; the issue names the 1,082-row Tastytrade
history and every IBKR statement — marked ``*`` — and the same bound is applied to every
other sample). Then every row that was not imported, with its row number, column and
reason, and the load average before and after.

The same target seen from the command line: ``tradestats import FILE --json`` in a fresh
process on a fresh data directory (interpreter start, imports, migrations, the import,
the JSON report), best of --repeat, for the 1,082-row Tastytrade history and the largest
IBKR statement; wall time and the child's CPU time (``--skip-cli`` leaves it out).

Wall time (``perf_counter``) and CPU time (``process_time``) are both printed: on a
loaded machine the CPU figure is the steadier one. A file the importers refuse as a
whole (Bybit's Closed P&L export) is listed as refused with the message; a refusal
of any other file fails the run.

Usage: python bench/importers.py [--repeat 3] [--target 2.0] [--json out.json] [--skip-cli]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "samples" / "brokers"
FIXTURES = ROOT / "tests" / "fixtures" / "brokers"
TARGET_S = 2.0
#: Samples the issue names explicitly (besides every IBKR statement).
NAMED = ("tastyworksTaxes_tastytrade_transactions_history_180201_to_240817.csv",)
#: Files that are not an importable export, and the refusal they must get.
REFUSED = {"bybit/closed_pnl.csv": "Closed P&L export"}
#: Imported end to end through the CLI as well (the first one found of each).
CLI_SAMPLES = (
    "tastytrade/tastyworksTaxes_tastytrade_transactions_history_180201_to_240817.csv",
    "ibkr/activity_statement/ibkr-tax-gemini_U12345678_2023_full_activity_statement.csv",
)


@dataclass
class Result:
    sample: str
    named: bool
    preset: str = "-"
    rows_read: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    refused: str = ""
    expected_refusal: bool = False
    rejections: list[dict[str, Any]] = field(default_factory=list)

    @property
    def best_wall(self) -> float:
        return min(self.wall_s) if self.wall_s else 0.0

    @property
    def best_cpu(self) -> float:
        return min(self.cpu_s) if self.cpu_s else 0.0

    def verdict(self, target: float) -> str:
        if self.refused:
            return "refused (expected)" if self.expected_refusal else "FAIL (refused)"
        return "pass" if self.best_wall < target else "FAIL"


def samples() -> list[tuple[str, Path]]:
    """(label, path) of every broker sample: the shared ones first, then the fixtures."""
    found: list[tuple[str, Path]] = []
    for prefix, root in (("shared", SHARED), ("fixtures", FIXTURES)):
        if not root.is_dir():
            print(f"note: {root} not found; its samples are not measured", file=sys.stderr)
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            found.append((f"{prefix}:{path.relative_to(root)}", path))
    return found


def is_named(label: str) -> bool:
    name = label.rsplit("/", 1)[-1]
    return name in NAMED or label.split(":", 1)[1].startswith("ibkr/")


def template_db(workdir: Path) -> Path:
    """A migrated, empty SQLite database to copy for every run."""
    from tradestats.config import Settings
    from tradestats.store.engine import build_engine
    from tradestats.store.migrate import upgrade

    data = workdir / "template"
    data.mkdir()
    engine = build_engine(Settings.load(env={"TRADESTATS_DATA_DIR": str(data)}))
    upgrade(engine)
    engine.dispose()  # closes the last connection: WAL checkpointed into the file
    db = data / "tradestats.db"
    if not db.is_file():
        raise SystemExit(f"template database not found at {db}")
    return db


def run_once(template: Path, workdir: Path, path: Path, result: Result) -> None:
    """One import of `path` into a fresh copy of the template database."""
    from tradestats.config import Settings
    from tradestats.journal.importers import ImportFormatError
    from tradestats.journal.imports import import_file
    from tradestats.store.engine import build_engine

    data = Path(tempfile.mkdtemp(dir=workdir))
    shutil.copyfile(template, data / "tradestats.db")
    engine = build_engine(Settings.load(env={"TRADESTATS_DATA_DIR": str(data)}))
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            report = import_file(engine, path, path.name, account="bench")
        except ImportFormatError as err:
            result.refused = str(err)
            return
        result.wall_s.append(time.perf_counter() - wall)
        result.cpu_s.append(time.process_time() - cpu)
    finally:
        engine.dispose()
        shutil.rmtree(data, ignore_errors=True)
    result.preset = report.broker
    result.rows_read = report.rows_read
    result.imported = report.imported
    result.duplicates = report.duplicates
    result.rejected = report.rejected
    result.skipped = dict(report.skipped)
    result.rejections = report.rejections


def measure(repeat: int, workdir: Path) -> list[Result]:
    template = template_db(workdir)
    results = []
    for label, path in samples():
        result = Result(label, is_named(label))
        result.expected_refusal = any(label.endswith(k) for k in REFUSED)
        for _ in range(repeat):
            run_once(template, workdir, path, result)
            if result.refused:
                break
        results.append(result)
    return results


def cli_import(path: Path, workdir: Path, repeat: int) -> dict[str, Any]:
    """`tradestats import` in a fresh process and data directory: best wall and CPU."""
    script = Path(sys.executable).with_name("tradestats")
    command = [str(script)] if script.is_file() else [
        sys.executable, "-c", "import sys; from tradestats.cli import main; sys.exit(main())"
    ]
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(repeat):
        data = Path(tempfile.mkdtemp(dir=workdir))
        env = {**os.environ, "TRADESTATS_DATA_DIR": str(data)}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter()
        done = subprocess.run(
            [*command, "import", str(path), "--json"], env=env, capture_output=True,
            text=True, check=False,
        )
        walls.append(time.perf_counter() - wall)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(
            after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        )
        shutil.rmtree(data, ignore_errors=True)
        if done.returncode != 0:
            raise SystemExit(f"tradestats import {path} failed: {done.stderr[-2000:]}")
        imported = json.loads(done.stdout)["imported"]
    return {"wall_s": min(walls), "cpu_s": min(cpus), "imported": imported}


def cli_figures(repeat: int, workdir: Path) -> dict[str, dict[str, Any]]:
    found = dict(samples())
    out = {}
    for suffix in CLI_SAMPLES:
        label = next((k for k in found if k.endswith(":" + suffix)), None)
        if label is not None:
            out[label] = cli_import(found[label], workdir, repeat)
    return out


def skipped_text(skipped: dict[str, int], shown: int = 4) -> str:
    """The largest kinds first; the rest as a count (all of them are in --json)."""
    kinds = sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0]))
    text = " ".join(f"{k}:{v}" for k, v in kinds[:shown])
    return text + (f" (+{len(kinds) - shown} kinds)" if len(kinds) > shown else "")


def print_table(results: list[Result], target: float) -> None:
    head = ("sample", "preset", "read", "imp", "dup", "rej", "skip", "cold s", "best s",
            "cpu s", "verdict", "skipped by kind")
    rows = []
    for r in results:
        rows.append((
            ("* " if r.named else "  ") + r.sample,
            r.preset, str(r.rows_read), str(r.imported), str(r.duplicates), str(r.rejected),
            str(sum(r.skipped.values())),
            f"{r.wall_s[0]:.3f}" if r.wall_s else "-",
            f"{r.best_wall:.3f}" if r.wall_s else "-",
            f"{r.best_cpu:.3f}" if r.cpu_s else "-",
            r.verdict(target), skipped_text(r.skipped),
        ))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    numeric = {2, 3, 4, 5, 6, 7, 8, 9}

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    print(line(head))
    print(line(tuple("-" * w for w in widths)))
    for row in rows:
        print(line(row))


def print_not_imported(results: list[Result]) -> None:
    print("\nRows not imported (row, column: reason):")
    any_shown = False
    for r in results:
        if r.refused:
            print(f"  {r.sample}: whole file refused: {r.refused}")
            any_shown = True
        for rej in sorted(r.rejections, key=lambda rej: rej["row"]):
            print(f"  {r.sample} row {rej['row']}, {rej['column'] or '-'}: {rej['reason']}")
            any_shown = True
    if not any_shown:
        print("  (none)")


def summary(results: list[Result], target: float) -> dict[str, Any]:
    timed = [r for r in results if r.wall_s]
    slowest = max(timed, key=lambda r: r.best_wall) if timed else None
    ibkr = [r for r in timed if ":ibkr/" in r.sample]
    slowest_ibkr = max(ibkr, key=lambda r: r.best_wall) if ibkr else None
    failed = [r.sample for r in results if r.verdict(target).startswith("FAIL")]
    return {
        "samples": len(results),
        "imported_samples": len(timed),
        "refused_samples": len(results) - len(timed),
        "rows_read": sum(r.rows_read for r in timed),
        "slowest": slowest.sample if slowest else None,
        "slowest_wall_s": round(slowest.best_wall, 4) if slowest else None,
        "slowest_cpu_s": round(slowest.best_cpu, 4) if slowest else None,
        "slowest_ibkr": slowest_ibkr.sample if slowest_ibkr else None,
        "slowest_ibkr_wall_s": round(slowest_ibkr.best_wall, 4) if slowest_ibkr else None,
        "slowest_ibkr_cpu_s": round(slowest_ibkr.best_cpu, 4) if slowest_ibkr else None,
        "target_s": target,
        "failed": failed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per sample (best kept)")
    parser.add_argument("--target", type=float, default=TARGET_S, help="seconds per import")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--skip-cli", action="store_true", help="no end-to-end CLI runs")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="bench-importers-") as tmp:
        results = measure(max(1, args.repeat), Path(tmp))
        cli = {} if args.skip_cli else cli_figures(max(1, args.repeat), Path(tmp))
    load_after = os.getloadavg()
    print(f"Broker importers: import_file into a fresh SQLite per run, best of {args.repeat}; "
          f"target < {args.target:g} s per file (* = named by the issue)")
    print(f"{started}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average before {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f}, after {load_after[0]:.2f} {load_after[1]:.2f} "
          f"{load_after[2]:.2f}\n")
    print_table(results, args.target)
    print_not_imported(results)
    s = summary(results, args.target)
    print(
        f"\n{s['samples']} samples ({s['imported_samples']} imported, "
        f"{s['refused_samples']} refused), {s['rows_read']} rows read; slowest "
        f"{s['slowest']} {s['slowest_wall_s']} s wall / {s['slowest_cpu_s']} s CPU; "
        f"slowest IBKR statement {s['slowest_ibkr']} {s['slowest_ibkr_wall_s']} s wall / "
        f"{s['slowest_ibkr_cpu_s']} s CPU; "
        + ("all within target" if not s["failed"] else f"FAILED: {', '.join(s['failed'])}")
    )
    for label, figure in cli.items():
        print(
            f"end to end, `tradestats import --json` in a fresh process and data dir: {label} "
            f"{figure['wall_s']:.3f} s wall / {figure['cpu_s']:.3f} s CPU (best of "
            f"{args.repeat}; {figure['imported']} imported) — "
            + ("within" if figure["wall_s"] < args.target else "over")
            + f" {args.target:g} s"
        )
    if args.json:
        args.json.write_text(json.dumps({
            "started": started, "load_before": load_before, "load_after": load_after,
            "summary": s, "cli": cli, "results": [asdict(r) for r in results],
        }, indent=2))
    return 1 if s["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""A file that names several accounts (Fidelity "All accounts", IBKR multi-account
statements) keeps each fill in its own account: fingerprints, matching and statistics
are per account, a re-import adds nothing, and undo removes the fills of every account.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tradestats.config import Settings
from tradestats.journal.importers import parse_file
from tradestats.journal.imports import import_file, undo_import
from tradestats.journal.matching import match_round_trips
from tradestats.store import tables as t
from tradestats.store.engine import build_engine
from tradestats.store.migrate import upgrade

FIDELITY = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "brokers"
    / "fidelity"
    / "options_written_for_tradestats.csv"
)
ACCOUNTS = {"X11111111", "Y22222222"}


@pytest.fixture
def engine(database_url: str, data_dir: Path) -> Engine:
    settings = Settings.load(
        env={"TRADESTATS_DATA_DIR": str(data_dir), "DATABASE_URL": database_url}
    )
    eng = build_engine(settings)
    upgrade(eng)
    return eng


def _per_account(engine: Engine) -> tuple[Counter[str], dict[str, Decimal]]:
    with engine.connect() as conn:
        fills = conn.execute(
            sa.select(t.accounts.c.name, sa.func.count())
            .select_from(t.executions.join(t.accounts))
            .where(t.accounts.c.name.in_(ACCOUNTS))
            .group_by(t.accounts.c.name)
        ).all()
        trips = conn.execute(
            sa.select(t.accounts.c.name, t.round_trips.c.gross_pnl)
            .select_from(t.round_trips.join(t.accounts))
            .where(t.accounts.c.name.in_(ACCOUNTS))
        ).all()
    gross: dict[str, Decimal] = {}
    for name, pnl in trips:
        gross[name] = gross.get(name, Decimal(0)) + Decimal(str(pnl))
    return Counter({name: n for name, n in fills}), gross


def test_fills_stay_in_the_accounts_the_file_names(engine: Engine) -> None:
    parsed = parse_file(FIDELITY)
    expected_fills = Counter(e.account for e in parsed.executions)
    assert set(expected_fills) == ACCOUNTS  # the fixture really spans two accounts
    expected_gross: dict[str, Decimal] = {}
    for trip in match_round_trips(parsed.executions).round_trips:
        expected_gross[trip.account] = expected_gross.get(trip.account, Decimal(0)) + (
            trip.gross_pnl
        )

    report = import_file(engine, FIDELITY, FIDELITY.name)
    assert report.imported == sum(expected_fills.values())
    assert set(report.accounts) == ACCOUNTS
    fills, gross = _per_account(engine)
    assert fills == expected_fills
    assert gross == expected_gross  # matched per account, not as one position

    again = import_file(engine, FIDELITY, FIDELITY.name)
    assert (again.imported, again.duplicates) == (0, report.imported)
    assert _per_account(engine)[0] == expected_fills

    assert report.id is not None
    undo_import(engine, report.id)
    fills, gross = _per_account(engine)
    assert not fills and not gross

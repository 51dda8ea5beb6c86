"""An import lists the first MAX_LISTED_REJECTIONS rejected rows and counts them all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from tradestats.config import Settings
from tradestats.journal import imports
from tradestats.journal.imports import import_file
from tradestats.store import tables as t
from tradestats.store.engine import build_engine
from tradestats.store.migrate import upgrade

HEADER = "Date/Time,Symbol,Side,Quantity,Price,Commission\n"


def test_rejections_are_counted_all_and_listed_up_to_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "MAX_LISTED_REJECTIONS", 5)
    engine = build_engine(Settings.load(env={"TRADESTATS_DATA_DIR": str(tmp_path)}))
    upgrade(engine)
    good = "2024-03-01T14:30:00Z,AAPL,buy,1,10,0\n2024-03-01T15:30:00Z,AAPL,sell,1,11,0\n"
    data = (HEADER + good + "not-a-date,AAPL,buy,1,10,0\n" * 12).encode()

    report = import_file(engine, data, "bad.csv", broker="generic")
    assert (report.imported, report.rejected) == (2, 12)
    assert [r["row"] for r in report.rejections] == [4, 5, 6, 7, 8]
    with engine.connect() as conn:
        stored = conn.execute(sa.select(t.imports.c.rejected, t.imports.c.report_json)).one()
    assert stored.rejected == 12
    assert len(json.loads(stored.report_json)["rejections"]) == 5

    strict = import_file(engine, data, "bad2.csv", broker="generic", strict=True)
    assert (strict.status, strict.rejected, len(strict.rejections)) == ("rejected", 12, 5)

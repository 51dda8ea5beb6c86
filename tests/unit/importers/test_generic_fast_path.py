"""The generic preset's per-row fast paths (ISO timestamps parsed directly, decimals,
sides and fee sums cached by cell text) give exactly what the shared strict parsers
give: same values, same representation, same rejections. The rows it hands the import
(`iter_parse_stored`, source row as JSON text via `RowJson`) are the parsed rows, and
that text is ``json.dumps`` of the row's dict."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradestats.journal.importers import ImportSettings, open_source, parse_file
from tradestats.journal.importers.base import ParseTally
from tradestats.journal.importers.generic import GenericImporter
from tradestats.journal.importers.tabular import RowJson
from tradestats.journal.importers.values import (
    RowError,
    is_blank,
    parse_decimal,
    parse_side,
    parse_timestamp,
    zone,
)
from tradestats.journal.model import Execution, Rejection, Side

HEADER = ["Date/Time", "Symbol", "Side", "Quantity", "Price", "Commission", "Fees"]

_aware = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
_offsets = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
)


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    moment = draw(_aware)
    offset = draw(_offsets)
    kind = draw(st.sampled_from(["iso", "iso_z", "space", "us", "compact", "date", "junk"]))
    if kind == "iso":
        return (moment.replace(tzinfo=offset) if offset else moment).isoformat()
    if kind == "iso_z":
        return moment.isoformat(timespec="milliseconds") + "Z"
    if kind == "space":
        return moment.isoformat(" ", timespec="seconds")
    if kind == "us":
        return f"{moment:%m/%d/%Y %I:%M:%S %p}"
    if kind == "compact":
        return f"{moment:%Y%m%d;%H%M%S}"
    if kind == "date":
        return moment.date().isoformat()
    return draw(st.sampled_from(["", "yesterday", "2024-13-01", "31/31/2024", " 2024-01-02 "]))


numbers = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-10**6,
                max_value=10**6).map(str),
    st.integers(-5000, 5000).map(str),
    st.sampled_from(["0", "0.00", "-0", "1e2", "1E+2", "1,234.50", "(12.00)", "$5", "1,5",
                     "", "--", "abc", "NaN", "Infinity", " 7 ", "0.35", "0.350"]),
)
sides = st.sampled_from(["buy", "BUY", "Sell", "s", "BOT", "sld", "sell short", "x", ""])
symbols = st.sampled_from(["AAPL", "MSFT", "/MESZ5", "SPY"])


def reference(number: int, cells: list[str], tz_name: str) -> Execution | Rejection:
    """What a row must give, from the shared parsers alone (the preset's rules)."""
    raw = dict(zip(HEADER, cells, strict=True))
    try:
        timestamp = parse_timestamp(cells[0], HEADER[0], zone(tz_name))
        quantity = parse_decimal(cells[3], "Quantity")
        side = parse_side(cells[2], "Side")
        if quantity < 0:
            if side is Side.BUY:
                raise RowError("Quantity", "Quantity: negative quantity on a buy")
            quantity = -quantity
        if quantity == 0:
            raise RowError("Quantity", "Quantity: quantity is zero")
        price = parse_decimal(cells[4], "Price")
        if price < 0:
            raise RowError("Price", f"Price: negative price {price}")
        fees = Decimal(0)
        for pos in (5, 6):
            if not is_blank(cells[pos]):
                fees += parse_decimal(cells[pos], HEADER[pos])
    except RowError as err:
        return Rejection(number, err.column, err.reason, raw)
    return Execution(
        account="acct",
        instrument=None,  # type: ignore[arg-type]  # compared separately
        timestamp=timestamp,
        side=side,
        quantity=quantity,
        price=price,
        fees=fees,
        broker="generic",
        row=number,
        raw=raw,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(timestamps(), symbols, sides, numbers, numbers, numbers, numbers),
        min_size=1,
        max_size=40,
    ),
    tz_name=st.sampled_from(["America/New_York", "UTC", "Asia/Kolkata"]),
)
def test_fast_paths_agree_with_the_shared_parsers(
    rows: list[tuple[str, ...]], tz_name: str
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    # repeat the rows so that every cached value is also read from the caches
    cells_list = [[c.strip() for c in row] for row in rows] * 2
    for cells in cells_list:
        writer.writerow(cells)
    parsed = parse_file(
        out.getvalue().encode(),
        "fills.csv",
        broker="generic",
        settings=ImportSettings(account="acct", timezone=tz_name),
    )
    got: dict[int, Execution | Rejection] = {e.row or 0: e for e in parsed.executions}
    got.update({r.row: r for r in parsed.rejections})
    # blank rows are skipped by the reader; every other row is one result
    numbered = [
        (number, cells)
        for number, cells in enumerate(cells_list, start=2)
        if any(cells)
    ]
    assert sorted(got) == [n for n, _ in numbered]
    for number, cells in numbered:
        want = reference(number, cells, tz_name)
        have = got[number]
        assert type(have) is type(want), (cells, have, want)
        if isinstance(want, Rejection):
            assert have == want
            continue
        assert isinstance(have, Execution)
        for name in ("timestamp", "side", "quantity", "price", "fees", "row", "raw"):
            a, b = getattr(have, name), getattr(want, name)
            assert a == b, (name, cells, a, b)
            # same representation too: "1.50" stays "1.50", not 1.5
            assert str(a) == str(b), (name, cells, a, b)
        assert have.timestamp.tzinfo is UTC
        assert have.instrument.symbol == cells[1].removeprefix("/")


_cell = st.text(st.characters(codec="utf-8"), max_size=8)


@given(
    header=st.lists(st.sampled_from(["", "a", "b", "P%L", 'q"', "é", "a"]), min_size=1,
                    max_size=6),
    rows=st.lists(st.lists(_cell, min_size=6, max_size=8), min_size=1, max_size=4),
)
def test_row_json_is_json_dumps_of_the_row_dict(header: list[str], rows: list[list[str]]) -> None:
    encode = RowJson(header)
    for cells in rows:
        as_dict = {name: cells[i] for i, name in enumerate(header) if name}
        assert encode.dict(cells) == as_dict
        assert encode(cells) == (json.dumps(as_dict, separators=(",", ":")) if as_dict else None)


def test_stored_rows_are_the_parsed_rows_with_their_json(tmp_path: Path) -> None:
    text = (
        'Date/Time,Symbol,Side,Quantity,Price,Fees,,Note\n'
        '2024-03-01T14:30:00Z,AAPL,buy,10,180.25,1,x,plain\n'
        '2024-03-01T14:31:00Z,AAPL,sell,10,181,1,y,"has ""quotes"" and é"\n'
        '2024-03-01T14:32:00Z,AAPL,sell,0,181,1,z,zero is rejected\n'
    )
    path = tmp_path / "fills.csv"
    path.write_text(text)
    importer = GenericImporter()
    settings = ImportSettings(account="acct")
    plain = list(importer.iter_parse(open_source(path), settings, ParseTally()))
    stored = list(importer.iter_parse_stored(open_source(path), settings, ParseTally()))
    assert len(plain) == len(stored) == 3
    for a, (b, raw_json) in zip(plain, stored, strict=True):
        if isinstance(a, Rejection):
            assert b == a and b.raw == a.raw and raw_json is None
            continue
        assert isinstance(b, Execution)
        assert b == a and b.raw is None
        assert raw_json == json.dumps(a.raw, separators=(",", ":"))

"""Splits from broker files to stored round trips (issue 6 item 2, "splits (adjust open
lots)"): what each preset reads, the P&L after a split, and that re-matching (rebuild,
lot-method change, undo, re-import) gives the same result.

Figures are hand-computed in the comments; the samples carry no broker P&L for these
positions (Schwab and tastytrade exports have no realized P&L column).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tradestats.journal import rebuild
from tradestats.journal.importers import parse_file
from tradestats.journal.imports import SplitConflict, import_file, undo_import
from tradestats.journal.matching import match_round_trips
from tradestats.journal.model import AssetClass, CorporateAction
from tradestats.store import journal_repo as repo
from tradestats.store import tables as t

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "brokers"
SCHWAB = FIXTURES / "schwab" / "export-to-ghostfolio_schwab-export.csv"
TASTY = (
    FIXTURES / "tastytrade" / "tastyworksTaxes_tastytrade_transactions_history_180201_to_240817.csv"
)
SCHWAB_HEADER = "Date,Action,Symbol,Description,Quantity,Price,Fees & Comm,Amount\n"
TASTY_HEADER = (
    "Date,Type,Sub Type,Action,Symbol,Instrument Type,Description,Value,Quantity,"
    "Average Price,Commissions,Fees,Multiplier,Root Symbol,Underlying Symbol,"
    "Expiration Date,Strike Price,Call or Put,Order #,Currency\n"
)


# -- what the presets read ----------------------------------------------------------------


def test_schwab_sample_splits() -> None:
    parsed = parse_file(SCHWAB)
    avgo, tnxp = parsed.corporate_actions
    # "07/15/2024 as of 07/12/2024","Stock Split","AVGO",...,"9": 9 shares added, dated
    # by the posting day (the ex-date), New York midnight
    assert (avgo.instrument.key, avgo.quantity_delta, avgo.row) == ("stock:AVGO", D(9), 108)
    assert avgo.timestamp == datetime(2024, 7, 15, 4, tzinfo=UTC)
    assert avgo.new_units is None and avgo.broker == "schwab"
    # the Reverse Split pair: 1 TNXP received (row 111), 1 removed under CUSIP 890260854
    assert (tnxp.instrument.key, tnxp.new_units, tnxp.old_units) == ("stock:TNXP", D(1), D(1))
    assert parsed.skipped["split"] == 3  # all three rows, none an execution
    assert not parsed.rejections


def test_schwab_lone_reverse_split_row_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "schwab.csv"
    path.write_text(
        SCHWAB_HEADER
        + '"06/10/2024","Reverse Split","TNXP","TONIX PHARMA HLDGS","10","","",""\n'
        + '"06/01/2024","Buy","TNXP","TONIX PHARMA HLDGS","320","$0.20","","-$64.00"\n'
    )
    parsed = parse_file(path)
    assert parsed.corporate_actions == []
    (rej,) = parsed.rejections
    assert (rej.row, rej.column) == (2, "Quantity")
    assert "other half" in rej.reason


def test_schwab_reverse_split_pair_sets_the_ratio(tmp_path: Path) -> None:
    path = tmp_path / "schwab.csv"
    path.write_text(
        SCHWAB_HEADER
        + '"06/20/2024","Sell","TNXP","TONIX PHARMA HLDGS","10","$7.00","","$70.00"\n'
        + '"06/10/2024","Reverse Split","TNXP","TONIX PHARMA HLDGS","10","","",""\n'
        + '"06/10/2024","Reverse Split","890260854","TONIX XXXREVERSE SPLIT","-320","","",""\n'
        + '"06/01/2024","Buy","TNXP","TONIX PHARMA HLDGS","320","$0.20","","-$64.00"\n'
    )
    parsed = parse_file(path)
    (action,) = parsed.corporate_actions
    assert (action.new_units, action.old_units) == (D(10), D(320))  # 1 for 32
    # 320 @ 0.20 = 64 -> 10 @ 6.40; sold at 7: 70 - 64
    (rt,) = match_round_trips(parsed.executions, "fifo", parsed.corporate_actions).round_trips
    assert (rt.gross_pnl, rt.entry_price, rt.quantity) == (D(6), D("6.4"), D(10))


def _tasty_row(when: str, kind: str, sub: str, action: str, qty: int, desc: str,
               value: str, avg: str) -> str:
    return (f"{when},{kind},{sub},{action},NVDA,Equity,{desc},{value},{qty},{avg},"
            "0.00,0.00,,,,,,,,USD\n")


@pytest.mark.parametrize("pair_value", ["0.00", "90000.00"])
def test_tastytrade_same_symbol_split_pair_becomes_a_split(
    tmp_path: Path, pair_value: str
) -> None:
    # 100 NVDA @ 900; 10-for-1 reported as Close 100 / Open 1000 (at zero or at cost,
    # it does not matter: the pair is not a sale); 200 sold at 130 -> 200 x (130 - 90)
    path = tmp_path / "tasty.csv"
    path.write_text(
        TASTY_HEADER
        + _tasty_row("2024-06-20T15:00:00+0000", "Trade", "Sell to Close", "SELL_TO_CLOSE",
                     200, "Sold 200 NVDA @ 130.00", "26000.00", "130.00")
        + _tasty_row("2024-06-10T12:00:00+0000", "Receive Deliver", "Forward Split",
                     "BUY_TO_OPEN", 1000, "Forward split: Open 1000 NVDA",
                     f"-{pair_value}", "-0.00")
        + _tasty_row("2024-06-10T12:00:00+0000", "Receive Deliver", "Forward Split",
                     "SELL_TO_CLOSE", 100, "Forward split: Close 100 NVDA", pair_value,
                     "0.00")
        + _tasty_row("2024-05-01T15:00:00+0000", "Trade", "Buy to Open", "BUY_TO_OPEN",
                     100, "Bought 100 NVDA @ 900.00", "-90000.00", "-900.00")
    )
    parsed = parse_file(path)
    assert parsed.broker == "tastytrade"
    (action,) = parsed.corporate_actions
    assert (action.new_units, action.old_units, action.row) == (D(1000), D(100), 3)
    assert len(parsed.executions) == 2 and parsed.skipped == {"split": 2}
    res = match_round_trips(parsed.executions, "fifo", parsed.corporate_actions)
    assert [r.gross_pnl for r in res.realizations] == [D(8000)]
    (pos,) = res.open_positions
    assert (pos.quantity, pos.average_price, pos.cost_basis) == (D(800), D(90), D(72000))
    assert pos.round_trip.entry_time == datetime(2024, 5, 1, 15, tzinfo=UTC)  # kept


def test_tastytrade_option_reverse_split_pairs_stay_executions() -> None:
    """USO's 1-for-8 (2020-04-29): tastytrade closes the USO puts and opens USO1 puts
    (the adjusted contracts), same count, both rows at the original price. Two
    instruments: executions, not a split; the close realizes no gross P&L."""
    parsed = parse_file(TASTY)
    assert parsed.corporate_actions == []
    res = match_round_trips(parsed.executions, "fifo")
    uso = {
        (rt.instrument.symbol, rt.direction): rt.gross_pnl
        for rt in res.round_trips
        if rt.instrument.underlying == "USO"
    }
    assert uso == {
        ("USO   200717P00002000", "long"): D(0),  # bought 6 @ 0.29, "closed" @ 0.29
        ("USO1  200717P00002000", "long"): D(-144),  # (0.05 - 0.29) x 6 x 100
        ("USO   200717P00003500", "short"): D(0),  # sold 6 @ 1.08, "closed" @ 1.08
        ("USO1  200717P00003500", "short"): D(270),  # (1.08 - 0.63) x 6 x 100
    }


def _flex(*records: str) -> str:
    return (
        '<?xml version="1.0"?><FlexQueryResponse queryName="q" type="AF">'
        '<FlexStatements count="1"><FlexStatement accountId="U1" fromDate="20200801" '
        'toDate="20201231"><Trades>'
        + "".join(r for r in records if r.startswith("<Trade "))
        + "</Trades><CorporateActions>"
        + "".join(r for r in records if r.startswith("<CorporateAction "))
        + "</CorporateActions></FlexStatement></FlexStatements></FlexQueryResponse>\n"
    )


def _trade(ident: str, when: str, side: str, qty: str, price: str, symbol: str = "AAPL",
           extra: str = "") -> str:
    return (
        f'<Trade accountId="U1" assetCategory="STK" symbol="{symbol}" currency="USD" '
        f'fxRateToBase="1" dateTime="{when}" buySell="{side}" quantity="{qty}" '
        f'tradePrice="{price}" ibCommission="-1" tradeID="{ident}" '
        f'levelOfDetail="EXECUTION" {extra}/>'
    )


def _action(kind: str, symbol: str, qty: str, text: str, category: str = "STK",
            when: str = "20200828;202500") -> str:
    return (
        f'<CorporateAction accountId="U1" assetCategory="{category}" symbol="{symbol}" '
        f'currency="USD" type="{kind}" dateTime="{when}" reportDate="20200831" '
        f'actionDescription="{text}" quantity="{qty}" transactionID="ca{symbol}{qty}" />'
    )


FLEX_SPLITS = _flex(
    _trade("t1", "20200803;100000", "BUY", "100", "400", extra='openCloseIndicator="O"'),
    # 400 post-split shares; the close's cost is the 100 shares' 40000 + 1 commission
    _trade("t2", "20200901;100000", "SELL", "-400", "110",
           extra='openCloseIndicator="C" cost="-40001"'),
    _trade("t3", "20200803;100000", "BUY", "1000", "1", symbol="XYZ"),
    _trade("t4", "20201001;100000", "SELL", "-100", "12", symbol="XYZ"),
    _action("FS", "AAPL", "300", "AAPL(US0378331005) SPLIT 4 FOR 1 (AAPL, APPLE INC)"),
    # a reverse split as IBKR lists it: old shares removed, new shares received
    _action("RS", "XYZ.OLD", "-1000", "XYZ(US1111111111) SPLIT 1 FOR 10 (XYZ, XYZ CORP)",
            when="20200915;202500"),
    _action("RS", "XYZ", "100", "XYZ(US1111111111) SPLIT 1 FOR 10 (XYZ, XYZ CORP)",
            when="20200915;202500"),
    _action("FS", "AAPL  200918C00400000", "3", "AAPL SPLIT 4 FOR 1", category="OPT"),
    _action("TC", "ABC", "-10", "ABC MERGED(Acquisition) WITH DEF 1 FOR 2"),
)


def test_ibkr_flex_xml_splits(tmp_path: Path) -> None:
    path = tmp_path / "flex.xml"
    path.write_text(FLEX_SPLITS)
    parsed = parse_file(path)
    assert parsed.broker == "ibkr_flex_xml"
    aapl, xyz = parsed.corporate_actions
    assert (aapl.instrument.key, aapl.new_units, aapl.old_units) == ("stock:AAPL", D(4), D(1))
    assert aapl.timestamp == datetime(2020, 8, 29, 0, 25, tzinfo=UTC)  # 20:25 New York
    assert (xyz.instrument.key, xyz.new_units, xyz.old_units) == ("stock:XYZ", D(1), D(10))
    assert parsed.skipped == {"split": 3, "split_non_stock": 1, "corporate_action_tc": 1}
    assert not parsed.rejections
    # the split covers the close: no synthetic opening for the "missing" 300 shares
    assert len(parsed.executions) == 4
    res = match_round_trips(parsed.executions, "fifo", parsed.corporate_actions)
    gross = {rt.instrument.symbol: rt.gross_pnl for rt in res.round_trips}
    # AAPL: 400 x 110 - 100 x 400; XYZ: 1000 @ 1 -> 100 @ 10, sold at 12
    assert gross == {"AAPL": D(4000), "XYZ": D(200)}


def test_ibkr_flex_xml_split_without_ratio_uses_the_quantity(tmp_path: Path) -> None:
    path = tmp_path / "flex.xml"
    path.write_text(_flex(
        _trade("t1", "20200803;100000", "BUY", "100", "400"),
        _action("FS", "AAPL", "300", "AAPL(US0378331005) STOCK SPLIT"),
        _action("RS", "QQQ", "5", "QQQ REVERSE"),
    ))
    parsed = parse_file(path)
    (aapl,) = parsed.corporate_actions
    assert aapl.quantity_delta == D(300)
    (rej,) = parsed.rejections  # a lone reverse-split row: no ratio anywhere
    assert rej.column == "description" and "ratio" in rej.reason
    (pos,) = match_round_trips(parsed.executions, "fifo", parsed.corporate_actions).open_positions
    assert (pos.quantity, pos.average_price) == (D(400), D(100))


# -- through the database ----------------------------------------------------------------


def _derived(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table.name: sorted(
                map(tuple, conn.execute(sa.select(*[c for c in table.c if c.name != "id"]))),
                key=repr,
            )
            for table in (t.round_trips, t.open_positions, t.realizations)
        }


def _count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _position(engine: Engine, symbol: str) -> tuple[D, D, D] | None:
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(t.open_positions.c.quantity, t.open_positions.c.average_price,
                      t.open_positions.c.cost_basis)
            .join(t.instruments, t.instruments.c.id == t.open_positions.c.instrument_id)
            .where(t.instruments.c.symbol == symbol)
        ).first()
    return None if row is None else (row[0], row[1], row[2])


def _trips(engine: Engine, symbol: str) -> list[tuple[D, D, D, D]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.round_trips.c.quantity, t.round_trips.c.entry_price,
                      t.round_trips.c.exit_price, t.round_trips.c.gross_pnl)
            .join(t.instruments, t.instruments.c.id == t.round_trips.c.instrument_id)
            .where(t.instruments.c.symbol == symbol)
        ).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def _rematch(engine: Engine, method: str) -> None:
    with engine.begin() as conn:
        (account,) = [a for a in repo.list_accounts(conn) if a.name == "acct"]
        repo.set_lot_method(conn, account.id, method)
        account = next(a for a in repo.list_accounts(conn) if a.name == "acct")
        rebuild.rebuild(conn, account, None)


def test_schwab_split_through_the_database(
    empty_journal: tuple[Any, Engine], tmp_path: Path
) -> None:
    _, engine = empty_journal
    report = import_file(engine, SCHWAB, SCHWAB.name, account="acct")
    assert (report.status, report.corporate_actions, report.skipped["split"]) == (
        "imported", 2, 3
    )
    # 1 AVGO bought at 1680 on 06/13; 10-for-1 -> 10 shares at 168, cost unchanged
    assert _position(engine, "AVGO") == (D(10), D(168), D(1680))

    sell = tmp_path / "sell.csv"
    sell.write_text(
        SCHWAB_HEADER + '"07/22/2024","Sell","AVGO","BROADCOM INC","10","$175.00","",'
        '"$1750.00"\n'
    )
    sold = import_file(engine, sell, sell.name, account="acct")
    assert sold.imported == 1
    # the full post-split quantity closes the lot: 10 x 175 - 1680
    assert _trips(engine, "AVGO") == [(D(10), D(168), D(175), D(70))]
    assert _position(engine, "AVGO") is None
    after_import = _derived(engine)

    # re-matching from what is stored gives the same rows, whatever the detour
    _rematch(engine, "fifo")
    assert _derived(engine) == after_import
    _rematch(engine, "lifo")
    assert _trips(engine, "AVGO") == [(D(10), D(168), D(175), D(70))]
    _rematch(engine, "average")
    _rematch(engine, "fifo")
    assert _derived(engine) == after_import

    again = import_file(engine, SCHWAB, SCHWAB.name, account="acct")
    assert (again.imported, again.corporate_actions) == (0, 0)  # nothing new
    assert _derived(engine) == after_import
    assert _count(engine, t.corporate_actions) == 2

    undo_import(engine, sold.id or 0)
    assert _position(engine, "AVGO") == (D(10), D(168), D(1680))
    undo_import(engine, report.id or 0)  # its splits go with it
    assert _count(engine, t.corporate_actions) == 0
    assert _position(engine, "AVGO") is None


def test_split_only_import_rematches_earlier_fills(
    empty_journal: tuple[Any, Engine], tmp_path: Path
) -> None:
    """A file holding just the split re-matches the fills another import stored; undoing
    it puts the position back."""
    _, engine = empty_journal
    buy = tmp_path / "buy.csv"
    buy.write_text(SCHWAB_HEADER + '"06/13/2024","Buy","AVGO","BROADCOM INC","2","$1680.00",'
                   '"","-$3360.00"\n')
    split = tmp_path / "split.csv"
    split.write_text(SCHWAB_HEADER + '"07/15/2024 as of 07/12/2024","Stock Split","AVGO",'
                     '"BROADCOM INC","18","$170.067","",""\n')
    import_file(engine, buy, buy.name, account="acct")
    assert _position(engine, "AVGO") == (D(2), D(1680), D(3360))
    report = import_file(engine, split, split.name, account="acct")
    assert (report.imported, report.corporate_actions) == (0, 1)
    assert _position(engine, "AVGO") == (D(20), D(168), D(3360))
    undo_import(engine, report.id or 0)
    assert _position(engine, "AVGO") == (D(2), D(1680), D(3360))


def test_flex_split_through_the_database(
    empty_journal: tuple[Any, Engine], tmp_path: Path
) -> None:
    _, engine = empty_journal
    path = tmp_path / "flex.xml"
    path.write_text(FLEX_SPLITS)
    report = import_file(engine, path, path.name, account="acct")
    assert report.corporate_actions == 2
    assert _trips(engine, "AAPL") == [(D(400), D(100), D(110), D(4000))]
    assert [trip[3] for trip in _trips(engine, "XYZ")] == [D(200)]
    before = _derived(engine)
    _rematch(engine, "lifo")
    _rematch(engine, "fifo")
    assert _derived(engine) == before


def test_split_of_a_position_that_would_vanish_fails_the_import(
    empty_journal: tuple[Any, Engine], tmp_path: Path
) -> None:
    """Bad input, clear error, nothing half-written."""
    _, engine = empty_journal
    path = tmp_path / "bad.csv"
    path.write_text(
        SCHWAB_HEADER
        + '"07/15/2024","Stock Split","AVGO","BROADCOM INC","-5","","",""\n'
        + '"06/13/2024","Buy","AVGO","BROADCOM INC","5","$1680.00","","-$8400.00"\n'
    )
    with pytest.raises(SplitConflict, match=r"AVGO.*row 2"):
        import_file(engine, path, path.name, account="acct")
    for table in (t.executions, t.corporate_actions, t.imports):
        assert _count(engine, table) == 0


def test_corporate_action_kind_is_stored() -> None:
    # the stored row keeps what the matcher needs; the model refuses half a ratio
    with pytest.raises(ValueError):
        CorporateAction("acct", parse_file(SCHWAB).corporate_actions[0].instrument,
                        datetime(2024, 1, 1, tzinfo=UTC), new_units=D(2))
    assert parse_file(SCHWAB).corporate_actions[0].instrument.asset_class is AssetClass.STOCK

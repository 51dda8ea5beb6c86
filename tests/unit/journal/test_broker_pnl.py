"""Our FIFO realized P&L against the broker's own figure, on every real sample that
carries one.

For each closing execution (the broker's closing row) we sum the net P&L
(gross - fees) of the realizations it made, and compare with the broker's column on
that row (IBKR Flex ``fifoPnlRealized``, Activity Statement ``Realized P/L``, Tradovate
``P/L``), per closing trade and in total per currency, to the cent (the difference is
under half a cent). Hyperliquid's ``closedPnl`` and Binance's ``Realized Profit`` are
gross of fees, so they are compared with our gross P&L. A Tradovate Position History
row (one pair) yields two executions; its ``P/L`` counts once, at the pair's closing
(later) fill. Activity Statements also give ``Realized P/L`` per ``ClosedLot`` row:
``test_realized_pnl_per_closed_lot`` compares those lot by lot.

Where each sample with a broker P&L is proven (per closing trade and in total):

- IBKR Flex XML ``fifoPnlRealized``: ib2tw, ib-flex-reader (all 0) here; the tradetally
  Flex file and the Flex CSV sample carry no P&L column.
- IBKR Activity Statement ``Realized P/L``: all twelve statements here, per Trade/Order
  row and per ClosedLot row (binnaculum and ibkr-tax-gemini have no ClosedLot rows).
- Tradovate ``P/L`` (tradetally paired-trades sample; the shared copy is the same
  bytes), Hyperliquid ``closedPnl``, Binance ``Realized Profit`` (both layouts): here,
  and again in their importer tests.
- MetaTrader 5 ``Profit``: ``tests/unit/importers/test_metatrader5.py``
  (``test_broker_profit_proof``): per closing deal and in total, with its two
  documented differences (EURAUD is in AUD for us and in the USD account currency for
  MT5, at a rate the report does not print; hedging-account tickets vs our FIFO).
- Bybit ``Closed P&L`` (its own export, refused as an import): against the Trade
  History fills in ``tests/unit/importers/test_bybit.py``.

IBKR statements close positions opened before the statement period; the importers
rebuild those openings from the broker's cost basis (``synthesize_openings=True``, see
``journal/importers/opening_lots.py``). Where our figure differs on purpose, or the file
cannot support the broker's figure, the difference is listed explicitly per closing
trade in ``EXPECTED_DIFFERENCES`` (ours - broker), with the reason.

GPL samples live outside the repository (../shared/samples); their tests skip when it
is absent.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tradestats.journal.importers import get_preset, open_source, parse_file
from tradestats.journal.importers.base import BrokerImporter
from tradestats.journal.importers.binance import BinanceFuturesImporter
from tradestats.journal.importers.hyperliquid import HyperliquidImporter
from tradestats.journal.importers.ibkr_activity import IbkrActivityImporter
from tradestats.journal.importers.ibkr_flex_csv import IbkrFlexCsvImporter
from tradestats.journal.importers.ibkr_flex_xml import IbkrFlexXmlImporter
from tradestats.journal.importers.tradovate import TradovateImporter
from tradestats.journal.matching import match_round_trips
from tradestats.journal.model import Execution

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "brokers"
SHARED = REPO / ".." / "shared" / "samples" / "brokers"
HALF_CENT = Decimal("0.005")
ZERO = Decimal(0)


@dataclass(frozen=True)
class Sample:
    path: str  # "fixtures:..." (in the repo) or "shared:..." (skipped when absent)
    importer: BrokerImporter
    column: str  # the broker's realized P&L column in each execution's raw
    # ours - broker per closing trade, keyed "instrument key@UTC time"; every other
    # closing trade must agree to the cent.
    differences: dict[str, Decimal] = field(default_factory=dict)
    gross: bool = False  # the broker's figure is gross of fees


ACTIVITY = IbkrActivityImporter(synthesize_openings=True)
FLEX = IbkrFlexXmlImporter(synthesize_openings=True)
ACT = "shared:ibkr/activity_statement/"

# Why ours differs, by cause:
#
# PREMIUM_INTO_STOCK: on exercise/assignment IBKR closes the option at 0 with realized
#   P/L 0 and moves its premium into the delivered stock (into the stock's realized P/L
#   when the stock is closed, into its basis when it is opened). We realize the option
#   as its own round trip at the exercise price 0 and the stock at its trade price
#   (deliberate: one definition of an option trade's P&L, whatever happens at expiry).
#   Per underlying the total is the same when both legs are in the file.
# OPTION_NOT_IN_FILE: the same folding, but the assigned option's rows are not in the
#   sample, so its premium is in the broker's stock figure and nowhere in ours.
# HAND_MADE: the sample's own figures are inconsistent with IBKR's rules (a stock
#   delivered by exercise/assignment keeps basis = strike x 100, the premium vanishes),
#   so the totals differ by the premium we realize on the option.
# CASH_SETTLED: a cash-settled index option exercised/assigned: the Trade row has
#   tradePrice 0 and the settlement cash (intrinsic value, = closePrice x multiplier x
#   quantity) is only inside fifoPnlRealized. NOT deliberate: a known gap, our P&L for
#   these closes misses the settlement cash (reported to the maintainers).
SAMPLES: dict[str, Sample] = {
    "ib2tw_flex": Sample(
        "fixtures:ibkr/ib2tw_trades_flex.xml", FLEX, "fifoPnlRealized",
        {
            # OPTION_NOT_IN_FILE: the IAG 16NOV18 46 C sold in the file (9 contracts,
            # net 1338.75) was assigned; its assignment row is not in the file, so the
            # option stays open for us while IBKR adds its premium to the stock's P&L.
            "stock:IAG@2018-11-16T21:20:00": Decimal("-1338.75"),
            # CASH_SETTLED: 108.78 x 100 x 120 received, 138.78 x 100 x 120 paid.
            "option:RUT   181221P01435000@2018-12-21T21:20:00": Decimal("-1305360"),
            "option:RUT   181221P01465000@2018-12-21T21:20:00": Decimal("1665360"),
        },
    ),
    # fifoPnlRealized is 0 and openCloseIndicator empty on every row, and every sell's
    # cost is its own net proceeds (IBKR booked them as openings): the sample (a parser
    # test file, hand edited: one FDAX sell repeated with currency USD) carries no
    # usable broker P&L for its futures round trips. Ours, for the record:
    "ib_flex_reader_flex": Sample(
        "fixtures:ibkr/ib-flex-reader_TestForCoding_flex.xml", FLEX, "fifoPnlRealized",
        {
            "future:FDAXZ8@2018-11-09T10:07:36": Decimal("542"),  # (11474-11463)x25x2 - 8
            "future:YMZ8@2018-11-09T15:09:55": Decimal("-244.06"),
            "future:YMZ8@2018-11-09T15:10:14": Decimal("-234.06"),
        },
    ),
    "binnaculum_activity": Sample(  # openings only: nothing realized on either side
        "fixtures:ibkr/binnaculum_ibkr_uk_InitialImport.csv", ACTIVITY, "Realized P/L"
    ),
    "ibkr_tax_gemini_activity": Sample(
        ACT + "ibkr-tax-gemini_U12345678_2023_full_activity_statement.csv", ACTIVITY,
        "Realized P/L",
        {
            # Synthetic sample ("Demo User"), no ClosedLot rows: its Realized P/L is
            # Proceeds + Basis and leaves out the closing Comm/Fee (-1.00), unlike real
            # IBKR rows (Realized = Proceeds + Comm/Fee + Basis, as in every oittaa
            # sample). Openings are rebuilt from Basis, dated at the period start.
            "stock:DVN@2023-03-15T18:00:00": Decimal("-1"),
            "stock:BKE@2023-06-15T15:05:00": Decimal("-1"),
            "stock:CVX@2023-09-15T19:00:00": Decimal("-1"),
            "stock:ALLY@2023-12-15T19:00:00": Decimal("-1"),
        },
    ),
    "oittaa_long_call_exercise": Sample(
        ACT + "oittaa_data_long_call_exercise.csv", ACTIVITY, "Realized P/L",
        # PREMIUM_INTO_STOCK + HAND_MADE: the call's 300 paid is lost at exercise.
        {"option:XYZ   240315C00040000@2024-03-15T20:20:00": Decimal("-300")},
    ),
    "oittaa_long_put_exercise": Sample(
        ACT + "oittaa_data_long_put_exercise.csv", ACTIVITY, "Realized P/L",
        # PREMIUM_INTO_STOCK + HAND_MADE: the put's 150 paid is lost at exercise.
        {"option:QRS   240419P00045000@2024-04-19T20:20:00": Decimal("-150")},
    ),
    "oittaa_multi_account": Sample(
        ACT + "oittaa_data_multi_account.csv", ACTIVITY, "Realized P/L",
        # OPTION_NOT_IN_FILE: assignment (A;C); IBKR's per-lot P/L is 10.263957 above
        # Proceeds + Comm/Fee + Basis on each of the two lots.
        {"stock:UNIT@2021-01-15T21:20:00": Decimal("-20.527914")},
    ),
    "oittaa_numbers_within_quotes": Sample(
        ACT + "oittaa_data_numbers_within_quotes.csv", ACTIVITY, "Realized P/L"
    ),
    "oittaa_option_assignment": Sample(
        ACT + "oittaa_data_option_assignment.csv", ACTIVITY, "Realized P/L",
        {  # PREMIUM_INTO_STOCK: each pair sums to 0 (the totals agree).
            "option:NVDA  250718C00150000@2025-07-18T20:20:00": Decimal("473.93926"),
            "stock:NVDA@2025-07-18T20:20:00": Decimal("-473.93926"),
            "option:NVDA  250815C00170000@2025-08-15T20:20:00": Decimal("336.94356"),
            "stock:NVDA@2025-08-15T20:20:00": Decimal("-336.94356"),
            "option:ARKK  250919C00080000@2025-09-19T20:20:00": Decimal("162.94576"),
            "stock:ARKK@2025-09-19T20:20:00": Decimal("-162.94576"),
            "option:SOFI  250919C00025000@2025-09-19T20:20:00": Decimal("209.14712"),
            "stock:SOFI@2025-09-19T20:20:00": Decimal("-209.14712"),
        },
    ),
    "oittaa_short_put_assign_2023": Sample(
        ACT + "oittaa_data_short_put_assign_2023.csv", ACTIVITY, "Realized P/L",
        # PREMIUM_INTO_STOCK: IBKR defers the 200 received into the assigned stock's
        # basis (unrealized); we realize it when the put is assigned.
        {"option:ABC   230816P00050000@2023-08-16T20:20:00": Decimal("200")},
    ),
    "oittaa_short_put_sell_2024": Sample(
        ACT + "oittaa_data_short_put_sell_2024.csv", ACTIVITY, "Realized P/L"
    ),
    "oittaa_shorting_stocks": Sample(
        ACT + "oittaa_data_shorting_stocks.csv", ACTIVITY, "Realized P/L",
        # OPTION_NOT_IN_FILE: the short is covered by an assignment (A;C) at 40; IBKR's
        # P/L is 137.949491 above Proceeds + Comm/Fee + Basis.
        {"stock:AMC@2021-07-16T20:20:00": Decimal("-137.949491")},
    ),
    "oittaa_single_account": Sample(
        ACT + "oittaa_data_single_account.csv", ACTIVITY, "Realized P/L"
    ),
    "oittaa_single_account_2022": Sample(
        ACT + "oittaa_data_single_account_2022.csv", ACTIVITY, "Realized P/L"
    ),
    "hyperliquid": Sample(
        "fixtures:hyperliquid/trade_history.csv", HyperliquidImporter(), "closedPnl",
        gross=True,
    ),
    # Binance's Realized Profit is gross of fees, per closing fill.
    "binance": Sample(
        "fixtures:binance/futures_trade_history.csv", BinanceFuturesImporter(),
        "Realized Profit", gross=True,
    ),
    "binance_v2": Sample(
        "fixtures:binance/futures_trade_history_v2.csv", BinanceFuturesImporter(),
        "Realized Profit", gross=True,
    ),
    # No commissions in the export: gross = net. Tradovate pairs fills FIFO too.
    "tradovate_pairs": Sample(
        "fixtures:tradovate/tradetally_tradovate-paired-trades-sample.csv",
        TradovateImporter(), "P/L",
    ),
}


def _path(spec: str) -> Path:
    where, relative = spec.split(":", 1)
    if where == "fixtures":
        return FIXTURES / relative
    path = SHARED / relative
    if not path.is_file():
        pytest.skip(f"shared sample {relative} not available (looked in {SHARED.resolve()})")
    return path


def _key(ex: Execution) -> str:
    return f"{ex.instrument.key}@{ex.timestamp:%Y-%m-%dT%H:%M:%S}"


@dataclass
class Reconciliation:
    ours: dict[str, Decimal]  # per closing trade
    broker: dict[str, Decimal]
    currency: dict[str, str]
    executions: list[Execution]


def reconcile(sample: Sample) -> Reconciliation:
    parsed = sample.importer.parse(open_source(_path(sample.path)))
    assert parsed.rejections == []
    ours: dict[str, Decimal] = defaultdict(Decimal)
    currency: dict[str, str] = {}
    for r in match_round_trips(parsed.executions).realizations:
        key = f"{r.instrument.key}@{r.time:%Y-%m-%dT%H:%M:%S}"
        ours[key] += r.gross_pnl if sample.gross else r.net_pnl
        currency[key] = r.instrument.currency
    # The broker's figure counts once per source row, at the row's closing (latest)
    # execution: one execution per row everywhere but a Tradovate pair (two).
    by_row: dict[int | None, list[Execution]] = defaultdict(list)
    for ex in parsed.executions:
        if not (ex.raw and ex.raw.get("synthetic")):
            by_row[ex.row].append(ex)
    assert None not in by_row, "every execution names its source row"
    broker: dict[str, Decimal] = defaultdict(Decimal)
    for row_executions in by_row.values():
        closing = max(row_executions, key=lambda e: e.timestamp)
        text = (closing.raw or {}).get(sample.column, "").replace(",", "").strip()
        if text and Decimal(text):
            broker[_key(closing)] += Decimal(text)
            currency[_key(closing)] = closing.instrument.currency
    return Reconciliation(dict(ours), dict(broker), currency, parsed.executions)


@pytest.mark.parametrize("name", SAMPLES)
def test_realized_pnl_per_closing_trade(name: str) -> None:
    sample = SAMPLES[name]
    rec = reconcile(sample)
    assert set(sample.differences) <= set(rec.ours) | set(rec.broker), "stale expectation"
    for key in sorted(set(rec.ours) | set(rec.broker)):
        ours, broker = rec.ours.get(key, ZERO), rec.broker.get(key, ZERO)
        expected = sample.differences.get(key, ZERO)
        assert abs(ours - broker - expected) < HALF_CENT, (
            f"{name} {key}: ours {ours} broker {broker} (expected difference {expected})"
        )


@pytest.mark.parametrize("name", SAMPLES)
def test_realized_pnl_total_per_currency(name: str) -> None:
    sample = SAMPLES[name]
    rec = reconcile(sample)
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for key in set(rec.ours) | set(rec.broker):
        t = totals[rec.currency[key]]
        t[0] += rec.ours.get(key, ZERO)
        t[1] += rec.broker.get(key, ZERO)
        t[2] += sample.differences.get(key, ZERO)
    for ccy, (ours, broker, expected) in totals.items():
        assert abs(ours - broker - expected) < HALF_CENT, (ccy, ours, broker, expected)


# -- the totals, spelled out (broker figures as printed in the files) -----------------


def test_totals_spelled_out() -> None:
    """The per-currency totals the parametrized tests imply, as readable numbers."""
    hyper = reconcile(SAMPLES["hyperliquid"])
    assert sum(hyper.ours.values(), ZERO) == sum(hyper.broker.values(), ZERO) == Decimal("1997.5")
    flex = reconcile(SAMPLES["ib2tw_flex"])
    usd = [k for k in flex.broker if flex.currency[k] == "USD"]
    assert sum((flex.broker[k] for k in usd), ZERO) == Decimal("-276575.760508")
    # -276575.760508 - 1305360 + 1665360 (CASH_SETTLED)
    assert abs(sum((flex.ours[k] for k in usd), ZERO) - Decimal("83424.239492")) < HALF_CENT
    for name, total in (
        ("binance", Decimal("107.5")), ("binance_v2", Decimal("29.5")),
        ("tradovate_pairs", Decimal("-218")),
    ):
        rec = reconcile(SAMPLES[name])
        assert sum(rec.ours.values(), ZERO) == sum(rec.broker.values(), ZERO) == total, name
    pairs = reconcile(SAMPLES["tradovate_pairs"])
    assert len(pairs.broker) == 5  # five pairs, each P/L counted once


def test_option_assignment_totals_agree_exactly() -> None:
    rec = reconcile(SAMPLES["oittaa_option_assignment"])
    ours, broker = sum(rec.ours.values(), ZERO), sum(rec.broker.values(), ZERO)
    assert broker == Decimal("40708.14820")
    assert abs(ours - broker) < HALF_CENT


# -- IBKR Activity Statements: the broker's P&L per ClosedLot row ----------------------
#
# Each closing Order (or lone Trade) row is followed by one ClosedLot row per lot it
# closed, with the lot's own Realized P/L. Our matching realizes per closing fill, so to
# compare lot by lot the closing fill is cut into pieces of the lots' quantities, in the
# file's lot order (IBKR's is FIFO here, like ours), each with its pro-rata share of the
# commission — exactly how FIFO allocates a close over the lots it consumes, so the
# pieces add up to the unsplit close (asserted). The expected difference of a lot is its
# close's documented difference (``Sample.differences``) pro rata to quantity: every
# close with a difference has one lot, except UNIT (multi_account), whose two lots of
# 100 each carry half of its -20.527914.

ACTIVITY_SAMPLES = [name for name, s in SAMPLES.items() if s.importer is ACTIVITY]
NO_CLOSED_LOTS = {"binnaculum_activity", "ibkr_tax_gemini_activity"}


@dataclass(frozen=True)
class ClosedLotRow:
    line: int
    quantity: Decimal  # unsigned
    realized: Decimal  # the broker's Realized P/L of this lot


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", "").strip() or "0")


def _synthetic_fill(ex: Execution) -> bool:
    return bool(ex.raw and ex.raw.get("synthetic"))


def closed_lots(path: Path, executions: list[Execution]) -> dict[int, list[ClosedLotRow]]:
    """The ClosedLot rows of each closing execution, keyed by the execution's row: the
    ones after it, up to the next execution row or a row that is not a Trade/ClosedLot
    (the importer's partial-fill Trade rows of an Order sit between them)."""
    execution_rows = {e.row for e in executions if not _synthetic_fill(e)}
    header: list[str] = []
    found: dict[int, list[ClosedLotRow]] = defaultdict(list)
    current: int | None = None
    text = path.read_text(encoding="utf-8-sig")
    for number, cells in enumerate(csv.reader(text.splitlines()), 1):
        if cells[:2] == ["Trades", "Header"]:
            header, current = cells, None
        elif number in execution_rows:
            current = number
        elif cells[:2] != ["Trades", "Data"] or cells[2] not in ("Trade", "ClosedLot"):
            current = None
        elif cells[2] == "ClosedLot":
            assert current is not None, f"ClosedLot row {number} follows no close"
            found[current].append(
                ClosedLotRow(
                    number,
                    abs(_decimal(cells[header.index("Quantity")])),
                    _decimal(cells[header.index("Realized P/L")]),
                )
            )
    return dict(found)


@pytest.mark.parametrize("name", ACTIVITY_SAMPLES)
def test_realized_pnl_per_closed_lot(name: str) -> None:
    sample = SAMPLES[name]
    path = _path(sample.path)
    parsed = sample.importer.parse(open_source(path))
    lots = closed_lots(path, parsed.executions)
    n_lots = sum(len(v) for v in lots.values())
    assert n_lots == parsed.skipped.get("closedlot", 0), "every ClosedLot row is attributed"
    if name in NO_CLOSED_LOTS:
        assert n_lots == 0
        return
    assert n_lots > 0
    pieces: list[Execution] = []
    lot_of_piece: dict[tuple[str, datetime], ClosedLotRow] = {}
    close_of_lot: dict[int, Execution] = {}
    for ex in parsed.executions:
        ex_lots = None if _synthetic_fill(ex) or ex.row is None else lots.get(ex.row)
        if not ex_lots:
            pieces.append(ex)
            continue
        rest = ex.quantity
        for i, lot in enumerate(ex_lots):
            when = ex.timestamp + timedelta(microseconds=i)
            share = ex.fees * lot.quantity / ex.quantity
            pieces.append(replace(ex, quantity=lot.quantity, fees=share, timestamp=when))
            lot_of_piece[(ex.instrument.key, when)] = lot
            close_of_lot[lot.line] = ex
            rest -= lot.quantity
        assert rest == 0, f"row {ex.row}: its ClosedLot quantities do not add up to it"
        # the broker's lots add up to the broker's figure for the close
        own = _decimal((ex.raw or {}).get(sample.column, ""))
        assert abs(sum((lot.realized for lot in ex_lots), ZERO) - own) < HALF_CENT, ex.row
    ours: dict[int, Decimal] = defaultdict(Decimal)
    for r in match_round_trips(pieces).realizations:
        piece_lot = lot_of_piece.get((r.instrument.key, r.time))
        if piece_lot is not None:
            ours[piece_lot.line] += r.net_pnl
    unsplit = reconcile(sample).ours
    by_close: dict[str, Decimal] = defaultdict(Decimal)
    for line, ex in close_of_lot.items():
        (lot,) = [v for v in lots[ex.row or 0] if v.line == line]
        expected = sample.differences.get(_key(ex), ZERO) * lot.quantity / ex.quantity
        assert abs(ours[line] - lot.realized - expected) < HALF_CENT, (
            f"{name} ClosedLot row {line} ({_key(ex)}): ours {ours[line]} broker "
            f"{lot.realized} (expected difference {expected})"
        )
        by_close[_key(ex)] += ours[line]
    for key, total in by_close.items():
        assert abs(total - unsplit.get(key, ZERO)) < Decimal("1e-9"), key


def test_closed_lot_figures_spelled_out() -> None:
    """The two multi-lot closes of multi_account, by hand."""
    sample = SAMPLES["oittaa_multi_account"]
    path = _path(sample.path)
    parsed = sample.importer.parse(open_source(path))
    lots = closed_lots(path, parsed.executions)
    unit = next(e for e in parsed.executions if e.instrument.symbol == "UNIT" and e.row in lots)
    assert [(lot.quantity, lot.realized) for lot in lots[unit.row or 0]] == [
        (Decimal(100), Decimal("-362.062068")), (Decimal(100), Decimal("-83.710368"))
    ]
    clov = [e for e in parsed.executions if e.row in lots and e.instrument.underlying == "CLOV"]
    (expiry,) = clov
    assert [lot.realized for lot in lots[expiry.row or 0]] == [
        Decimal("80.579982"), Decimal("129.789537"), Decimal("144.939455")
    ]


# -- the synthetic openings themselves -----------------------------------------------


def _synthetic(executions: list[Execution]) -> list[Execution]:
    return [e for e in executions if e.raw and e.raw.get("synthetic") == "closed_lot"]


def test_synthetic_opening_from_closed_lot() -> None:
    rec = reconcile(SAMPLES["oittaa_single_account"])
    (lot,) = _synthetic(rec.executions)
    close = next(e for e in rec.executions if e not in (lot,))
    assert lot.side is not close.side and lot.quantity == 50 and lot.fees == 0
    assert lot.price == Decimal("60.86")  # Basis 3043 / 50
    assert lot.timestamp.date().isoformat() == "2021-03-15"  # local midnight, as UTC
    assert lot.raw is not None and lot.raw["open_time_known"] == "true"
    assert lot.raw["basis_source"] == "ClosedLot"
    assert lot.broker_execution_id and lot.broker_execution_id.startswith("closed_lot:")


def test_synthetic_ids_are_stable_across_imports() -> None:
    first = _synthetic(reconcile(SAMPLES["oittaa_option_assignment"]).executions)
    again = _synthetic(reconcile(SAMPLES["oittaa_option_assignment"]).executions)
    ids = [e.broker_execution_id for e in first]
    assert ids == [e.broker_execution_id for e in again]
    assert len(set(ids)) == len(ids) == 4  # the two NVDA closes of the same 2017 lot differ


def test_openings_in_the_file_are_not_synthesized() -> None:
    # every ClosedLot of these files is opened by a fill inside the file
    for name in ("oittaa_numbers_within_quotes",):
        assert _synthetic(reconcile(SAMPLES[name]).executions) == []
    # the stock lot of the exercise is in the file; only the put's lot is not
    (put,) = _synthetic(reconcile(SAMPLES["oittaa_long_put_exercise"]).executions)
    assert put.instrument.key.startswith("option:")


def test_flex_partial_coverage_takes_the_rest_of_cost() -> None:
    """ULTA: 1 put sold in the file, 45 bought back; cost covers all 45, so the
    synthetic opening is 44 at (cost - the file's lot basis) / 4400."""
    rec = reconcile(SAMPLES["ib2tw_flex"])
    ulta = [e for e in _synthetic(rec.executions) if e.instrument.underlying == "ULTA"]
    assert len(ulta) == 1 and ulta[0].quantity == 44
    assert ulta[0].raw is not None and ulta[0].raw["open_time_known"] == "false"
    assert Decimal(ulta[0].raw["basis"]) == Decimal("5593.343492") - Decimal("127.012049")
    assert ulta[0].price == Decimal("5466.331443") / 4400  # at 28-digit precision


def test_default_presets_synthesize() -> None:
    # the registered presets (what parse_file and the DB import use) synthesize
    for name in ("ibkr_flex_xml", "ibkr_flex_csv", "ibkr_activity"):
        preset = get_preset(name)
        assert isinstance(preset, IbkrFlexXmlImporter | IbkrFlexCsvImporter | IbkrActivityImporter)
        assert preset.synthesize_openings is True
    path = FIXTURES / "ibkr/ib2tw_trades_flex.xml"
    parsed = parse_file(path)
    assert parsed.broker == "ibkr_flex_xml"
    # 17 = the file's 11 Trade rows + 6 synthetic openings, as with the explicit flag
    assert (len(parsed.executions), len(_synthetic(parsed.executions))) == (17, 6)
    assert parsed.executions == FLEX.parse(open_source(path)).executions


def test_synthesize_openings_false_keeps_the_files_rows() -> None:
    path = FIXTURES / "ibkr/ib2tw_trades_flex.xml"
    off = IbkrFlexXmlImporter(synthesize_openings=False).parse(open_source(path))
    assert _synthetic(off.executions) == [] and len(off.executions) == 11
    on = parse_file(path).executions
    assert off.executions == [e for e in on if e not in _synthetic(on)]


def test_activity_default_synthesizes_and_false_does_not() -> None:
    # one ClosedLot opened before the period (UPST, 2021-03-15): 1 file row + 1 opening
    path = _path(ACT + "oittaa_data_single_account.csv")
    parsed = parse_file(path)
    assert parsed.broker == "ibkr_activity"
    assert (len(parsed.executions), len(_synthetic(parsed.executions))) == (2, 1)
    off = IbkrActivityImporter(synthesize_openings=False).parse(open_source(path))
    assert _synthetic(off.executions) == [] and len(off.executions) == 1
    assert off.executions == parsed.executions[1:]


ACTIVITY_OWN = "".join(
    f"{line}\n"
    for line in (
        "Statement,Header,Field Name,Field Value",
        'Statement,Data,Period,"January 1, 2024 - January 31, 2024"',
        "Trades,Header,DataDiscriminator,Asset Category,Currency,Symbol,Date/Time,"
        "Quantity,T. Price,Proceeds,Comm/Fee,Basis,Realized P/L,Code",
        'Trades,Data,Order,Stocks,USD,XYZ,"2024-01-03, 10:00:00",100,12,-1200,-1,1201,0,O',
        # closes a pre-period lot (2023-12-01) and the file's own lot (2024-01-03)
        'Trades,Data,Order,Stocks,USD,XYZ,"2024-01-05, 11:00:00",-150,13,1950,-1.5,'
        "-1601.5,348,C",
        "Trades,Data,ClosedLot,Stocks,USD,XYZ,2023-12-01,100,10,,,1000,299.0,LT",
        "Trades,Data,ClosedLot,Stocks,USD,XYZ,2024-01-03,50,12.01,,,600.5,49,ST",
        'Trades,Data,Order,Stocks,USD,XYZ,"2024-01-08, 11:00:00",-50,14,700,-1,-600.5,98.5,C',
        "Trades,Data,ClosedLot,Stocks,USD,XYZ,2024-01-03,50,12.01,,,600.5,98.5,ST",
    )
)


def test_pre_period_lot_and_file_lot_in_one_close(tmp_path: Path) -> None:
    path = tmp_path / "activity.csv"
    path.write_text(ACTIVITY_OWN)
    parsed = ACTIVITY.parse(open_source(path))
    (lot,) = _synthetic(parsed.executions)
    assert (lot.quantity, lot.price, lot.row) == (Decimal(100), Decimal(10), 6)
    realized = {
        f"{r.time:%d}": r.net_pnl for r in match_round_trips(parsed.executions).realizations
    }
    # 1950 - 1.5 - (1000 + 50 x 12.01); then 700 - 1 - 50 x 12.01
    assert realized == {"05": Decimal("348.0"), "08": Decimal("98.5")}

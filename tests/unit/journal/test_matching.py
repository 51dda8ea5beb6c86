"""Round-trip matching: hand-computed cases per rule and property tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradestats.journal.matching import MatchMethod, group_multi_leg, match_round_trips
from tradestats.journal.model import AssetClass, Execution, Instrument, OptionRight, Side

T0 = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)
AAPL = Instrument("AAPL", AssetClass.STOCK, "AAPL")
MES = Instrument("MESM4", AssetClass.FUTURE, "MES", multiplier=D(5))
CALL = Instrument(
    "AAPL  240419C00180000",
    AssetClass.OPTION,
    "AAPL",
    multiplier=D(100),
    expiry=date(2024, 4, 19),
    strike=D(180),
    right=OptionRight.CALL,
)
METHODS: tuple[MatchMethod, ...] = ("fifo", "lifo", "average")


def fill(
    minute: int,
    side: str,
    qty: str | int | D,
    price: str | int | D,
    fees: str | int | D = 0,
    inst: Instrument = AAPL,
    account: str = "A",
    order_id: str | None = None,
) -> Execution:
    return Execution(
        account=account,
        instrument=inst,
        timestamp=T0 + timedelta(minutes=minute),
        side=Side.BUY if side == "buy" else Side.SELL,
        quantity=D(qty),
        price=D(price),
        fees=D(fees),
        order_id=order_id,
    )


@pytest.mark.parametrize("method", METHODS)
def test_simple_long_round_trip(method: MatchMethod) -> None:
    res = match_round_trips([fill(0, "buy", 100, "10", 1), fill(5, "sell", 100, "12", 1)], method)
    (rt,) = res.round_trips
    assert rt.direction == "long"
    assert rt.gross_pnl == D(200)
    assert rt.fees == D(2)
    assert rt.net_pnl == D(198)
    assert rt.quantity == D(100)
    assert rt.entry_price == D(10) and rt.exit_price == D(12)
    assert rt.holding_seconds == 300
    assert res.open_positions == []
    (real,) = res.realizations
    assert real.gross_pnl == D(200) and real.fees == D(2) and real.net_pnl == D(198)


@pytest.mark.parametrize("method", METHODS)
def test_short_round_trip(method: MatchMethod) -> None:
    res = match_round_trips([fill(0, "sell", 50, "20"), fill(1, "buy", 50, "18.5")], method)
    (rt,) = res.round_trips
    assert rt.direction == "short"
    assert rt.gross_pnl == D(75)  # (20 - 18.5) * 50


# Buy 100 @10, buy 100 @12, sell 100 @13, sell 100 @11.
# FIFO: first close vs @10 -> +300, second vs @12 -> -100.
# LIFO: first close vs @12 -> +100, second vs @10 -> +100.
# Average (11): +200, 0.  Total always +200.
@pytest.mark.parametrize(
    ("method", "first", "second"),
    [("fifo", D(300), D(-100)), ("lifo", D(100), D(100)), ("average", D(200), D(0))],
)
def test_scale_in_scale_out_by_method(method: MatchMethod, first: D, second: D) -> None:
    fills = [
        fill(0, "buy", 100, "10", 1),
        fill(1, "buy", 100, "12", 1),
        fill(2, "sell", 100, "13", 1),
        fill(3, "sell", 100, "11", 1),
    ]
    res = match_round_trips(fills, method)
    assert [r.gross_pnl for r in res.realizations] == [first, second]
    (rt,) = res.round_trips
    assert rt.gross_pnl == D(200)
    assert rt.quantity == D(200)
    assert rt.entry_price == D(11) and rt.exit_price == D(12)
    assert rt.fees == D(4) and rt.net_pnl == D(196)
    assert sum(r.fees for r in res.realizations) == D(4)
    # each close carries its own fee plus the fee of the opening lot it consumed
    assert [r.fees for r in res.realizations] == [D(2), D(2)]


def test_partial_fills_and_pro_rata_fee_allocation_fifo() -> None:
    # open 100 in two partial fills, close 30 then 70
    fills = [
        fill(0, "buy", 40, "10", "4"),  # 0.10 / share
        fill(0, "buy", 60, "11", "3"),  # 0.05 / share
        fill(1, "sell", 30, "12", "1.5"),
        fill(2, "sell", 70, "12", "0.7"),
    ]
    res = match_round_trips(fills, "fifo")
    r1, r2 = res.realizations
    assert r1.gross_pnl == D(60)  # 30 * (12 - 10)
    assert r1.fees == D("1.5") + D(3)  # own fee + 30/40 of 4
    assert r2.gross_pnl == D(10) * 2 + D(60) * 1  # 10 left @10, 60 @11
    assert r2.fees == D("0.7") + D(1) + D(3)
    (rt,) = res.round_trips
    assert rt.fees == D("9.2")
    assert rt.gross_pnl == r1.gross_pnl + r2.gross_pnl == D(140)
    assert rt.executions == fills


def test_average_cost_partial_close_fees() -> None:
    fills = [
        fill(0, "buy", 40, "10", "4"),
        fill(0, "buy", 60, "11", "3"),
        fill(1, "sell", 30, "12", "1.5"),
        fill(2, "sell", 70, "12", "0.7"),
    ]
    res = match_round_trips(fills, "average")
    r1, r2 = res.realizations
    assert r1.gross_pnl == D(30) * (D(12) - D("10.6"))  # avg = 1060 / 100
    assert r1.fees == D("1.5") + D("2.1")  # 30% of the 7 opening fees
    assert r1.gross_pnl + r2.gross_pnl == D(140)
    assert r1.fees + r2.fees == D("9.2")


@pytest.mark.parametrize("method", METHODS)
def test_flip_long_to_short_in_one_fill(method: MatchMethod) -> None:
    fills = [
        fill(0, "buy", 100, "10", "1"),
        fill(1, "sell", 150, "12", "3"),  # closes 100, opens short 50; fee 2 / 1
        fill(2, "buy", 50, "11", "0.5"),
    ]
    res = match_round_trips(fills, method)
    first, second = res.round_trips
    assert first.direction == "long" and second.direction == "short"
    assert first.gross_pnl == D(200)
    assert first.fees == D(3)  # 1 + 2
    assert first.quantity == D(100)
    assert first.exit_price == D(12)
    assert second.entry_time == first.exit_time
    assert second.quantity == D(50)
    assert second.entry_price == D(12)
    assert second.gross_pnl == D(50)
    assert second.fees == D("1.5")  # 1 + 0.5
    assert fills[1] in first.executions and fills[1] in second.executions
    assert [r.quantity for r in res.realizations] == [D(100), D(50)]


@pytest.mark.parametrize("method", METHODS)
def test_option_multiplier_and_expiry_worthless(method: MatchMethod) -> None:
    fills = [
        fill(0, "buy", 2, "3.50", "1.30", inst=CALL),
        fill(60 * 24, "sell", 2, "0", "0", inst=CALL),  # expired worthless
    ]
    (rt,) = match_round_trips(fills, method).round_trips
    assert rt.gross_pnl == D(-700)  # (0 - 3.5) * 2 * 100
    assert rt.net_pnl == D("-701.30")
    assert rt.exit_price == D(0)


@pytest.mark.parametrize("method", METHODS)
def test_future_multiplier_short(method: MatchMethod) -> None:
    fills = [
        fill(0, "sell", 3, "5200.25", "1.24", inst=MES),
        fill(1, "buy", 1, "5190.00", "0.62", inst=MES),
        fill(2, "buy", 2, "5210.50", "1.24", inst=MES),
    ]
    res = match_round_trips(fills, method)
    (rt,) = res.round_trips
    # short: (5200.25*3 - 5190 - 2*5210.5) * 5
    assert rt.gross_pnl == (D("15600.75") - D("5190") - D("10421")) * 5 == D("-51.25")
    assert rt.fees == D("3.10")


def test_open_position_reported_with_lots() -> None:
    fills = [fill(0, "buy", 10, "5", "1"), fill(1, "buy", 10, "7", "1"), fill(2, "sell", 5, "8")]
    res = match_round_trips(fills, "fifo")
    assert res.round_trips == []
    (pos,) = res.open_positions
    assert pos.quantity == D(15)
    assert [(lot.quantity, lot.price) for lot in pos.lots] == [(D(5), D(5)), (D(10), D(7))]
    assert pos.cost_basis == D(95)
    assert pos.fees == D("1.5")
    assert pos.round_trip.is_open
    assert pos.round_trip.gross_pnl == D(15)  # realized so far: 5 * (8 - 5)


def test_accounts_and_instruments_are_separate_books() -> None:
    fills = [
        fill(0, "buy", 1, 10, account="A"),
        fill(1, "sell", 1, 11, account="B"),
        fill(2, "sell", 1, 12, account="A"),
        fill(3, "buy", 1, 9, account="B"),
    ]
    res = match_round_trips(fills)
    assert [(rt.account, rt.direction, rt.gross_pnl) for rt in res.round_trips] == [
        ("A", "long", D(2)),
        ("B", "short", D(2)),
    ]


def test_unsorted_input_sorted_stably() -> None:
    # same timestamp: input order decides (buy first, then sell)
    a = fill(5, "buy", 1, 10)
    b = fill(5, "sell", 1, 11)
    c = fill(0, "buy", 1, 9)
    d = fill(1, "sell", 1, 9)
    res = match_round_trips([a, b, c, d])
    assert [rt.gross_pnl for rt in res.round_trips] == [D(0), D(1)]
    assert res.round_trips[1].executions == [a, b]


def test_invalid_input() -> None:
    with pytest.raises(ValueError, match="method"):
        match_round_trips([], "hifo")  # type: ignore[arg-type]
    bad = Execution("A", AAPL, T0, Side.BUY, D(0), D(1), row=7)
    with pytest.raises(ValueError, match="row 7"):
        match_round_trips([bad])


def test_group_multi_leg_by_order_and_window() -> None:
    put = Instrument("AAPL  240419P00170000", AssetClass.OPTION, "AAPL", multiplier=D(100))
    fills = [
        fill(0, "buy", 1, "3", inst=CALL, order_id="o1"),
        fill(0, "sell", 1, "2", inst=put, order_id="o1"),
        fill(30, "sell", 1, "4", inst=CALL),
        fill(30, "buy", 1, "1", inst=put),
        fill(40, "buy", 10, "180"),
        fill(41, "sell", 10, "181"),
    ]
    res = match_round_trips(fills)
    groups = group_multi_leg(res.round_trips, window_seconds=60)
    sizes = sorted(len(v) for v in groups.values())
    assert sizes == [1, 2]
    assert any(
        {rt.instrument.symbol for rt in v} == {CALL.symbol, put.symbol} for v in groups.values()
    )


# ---------------------------------------------------------------- properties

fills_strategy = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        st.integers(min_value=1, max_value=20),
        st.integers(min_value=100, max_value=300),  # price in cents
        st.integers(min_value=0, max_value=300),  # fees in cents
        st.sampled_from([AAPL, MES, CALL]),
    ),
    min_size=1,
    max_size=40,
)


def _build(raw: list[tuple[str, int, int, int, Instrument]]) -> list[Execution]:
    return [
        fill(i, side, qty, D(price) / 100, D(fee) / 100, inst=inst)
        for i, (side, qty, price, fee, inst) in enumerate(raw)
    ]


def _flatten(fills: list[Execution]) -> list[Execution]:
    """Append closing fills so every book ends flat."""
    pos: dict[str, tuple[Instrument, D]] = {}
    for f in fills:
        inst, q = pos.get(f.instrument.key, (f.instrument, D(0)))
        pos[f.instrument.key] = (inst, q + f.signed_quantity)
    out = list(fills)
    for k, (inst, q) in enumerate(pos.values()):
        if q:
            out.append(fill(100 + k, "sell" if q > 0 else "buy", abs(q), "1.23", "0.1", inst=inst))
    return out


@settings(max_examples=150, deadline=None)
@given(fills_strategy)
def test_quantity_conservation(raw: list[tuple[str, int, int, int, Instrument]]) -> None:
    fills = _build(raw)
    for method in METHODS:
        res = match_round_trips(fills, method)
        for key in {f.instrument.key for f in fills}:
            net = sum((f.signed_quantity for f in fills if f.instrument.key == key), D(0))
            open_q = sum((p.quantity for p in res.open_positions if p.instrument.key == key), D(0))
            assert open_q == net
        for p in res.open_positions:
            assert sum((lot.quantity for lot in p.lots), D(0)) == abs(p.quantity)


@settings(max_examples=150, deadline=None)
@given(fills_strategy)
def test_pnl_equals_cash_flow_when_flat_and_methods_agree(
    raw: list[tuple[str, int, int, int, Instrument]],
) -> None:
    fills = _flatten(_build(raw))
    cash = sum((-f.signed_quantity * f.price * f.instrument.multiplier for f in fills), D(0))
    fees = sum((f.fees for f in fills), D(0))
    totals = []
    for method in METHODS:
        res = match_round_trips(fills, method)
        assert res.open_positions == []
        gross = sum((rt.gross_pnl for rt in res.round_trips), D(0))
        assert gross == cash
        assert sum((rt.fees for rt in res.round_trips), D(0)) == fees
        assert sum((r.gross_pnl for r in res.realizations), D(0)) == cash
        assert sum((r.fees for r in res.realizations), D(0)) == fees
        totals.append([(rt.gross_pnl, rt.fees, rt.quantity) for rt in res.round_trips])
    assert totals[0] == totals[1] == totals[2]

"""Splits adjust open lots (issue 6 item 2): the matcher applies `CorporateAction`s in
time order with the fills. Every figure below is computed by hand in the comments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from tradestats.journal.matching import MatchMethod, MatchResult, SplitError, match_round_trips
from tradestats.journal.model import AssetClass, CorporateAction, Execution, Instrument, Side

T0 = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)
AAPL = Instrument("AAPL", AssetClass.STOCK, "AAPL")
MSFT = Instrument("MSFT", AssetClass.STOCK, "MSFT")
METHODS: tuple[MatchMethod, ...] = ("fifo", "lifo", "average")


def fill(
    minute: int,
    side: str,
    qty: str | int,
    price: str | int,
    fees: str | int = 0,
    inst: Instrument = AAPL,
    account: str = "A",
) -> Execution:
    return Execution(
        account=account,
        instrument=inst,
        timestamp=T0 + timedelta(minutes=minute),
        side=Side.BUY if side == "buy" else Side.SELL,
        quantity=D(qty),
        price=D(price),
        fees=D(fees),
    )


def split(
    minute: int,
    new: str | int | None = None,
    old: str | int | None = None,
    *,
    delta: str | int | None = None,
    inst: Instrument = AAPL,
    account: str = "A",
) -> CorporateAction:
    return CorporateAction(
        account=account,
        instrument=inst,
        timestamp=T0 + timedelta(minutes=minute),
        new_units=None if new is None else D(new),
        old_units=None if old is None else D(old),
        quantity_delta=None if delta is None else D(delta),
        row=7,
    )


def realized(res: MatchResult) -> D:
    return sum((r.gross_pnl for r in res.realizations), D(0))


# -- forward 2-for-1 ------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_forward_split_then_full_close(method: MatchMethod) -> None:
    # cost 100 x 10 + 100 x 20 = 3000; after 2:1 the 400 shares sell at 8: 3200 - 3000
    res = match_round_trips(
        [fill(0, "buy", 100, 10, 1), fill(1, "buy", 100, 20, 1), fill(20, "sell", 400, 8, 2)],
        method,
        [split(10, 2, 1)],
    )
    (rt,) = res.round_trips
    assert not res.open_positions
    assert (rt.gross_pnl, rt.fees, rt.net_pnl) == (D(200), D(4), D(196))
    assert rt.quantity == D(400)  # largest size, in post-split shares
    assert (rt.entry_price, rt.exit_price) == (D("7.5"), D(8))  # split-adjusted
    assert realized(res) == D(200)


@pytest.mark.parametrize(
    ("method", "first_close"),
    # after the split the lots are 200 @ 5 and 200 @ 10 (average 7.5); 100 sold at 8:
    [("fifo", D(300)), ("lifo", D(-200)), ("average", D(50))],
)
def test_forward_split_partial_close_after(method: MatchMethod, first_close: D) -> None:
    res = match_round_trips(
        [
            fill(0, "buy", 100, 10),
            fill(1, "buy", 100, 20),
            fill(20, "sell", 100, 8),
            fill(30, "sell", 300, 8),
        ],
        method,
        [split(10, 2, 1)],
    )
    assert res.realizations[0].gross_pnl == first_close
    (rt,) = res.round_trips
    assert rt.gross_pnl == realized(res) == D(200)


@pytest.mark.parametrize("method", METHODS)
def test_forward_split_partial_close_before(method: MatchMethod) -> None:
    # 40 of 100 sold at 12 before the split (+80); the other 60 are 120 after it, sold at
    # 6.5: 780 - 600 = +180. The round trip: 480 + 780 - 1000 = 260.
    res = match_round_trips(
        [fill(0, "buy", 100, 10, 2), fill(5, "sell", 40, 12, 1), fill(20, "sell", 120, "6.5", 1)],
        method,
        [split(10, 2, 1)],
    )
    assert [r.gross_pnl for r in res.realizations] == [D(80), D(180)]
    assert [r.quantity for r in res.realizations] == [D(40), D(120)]
    (rt,) = res.round_trips
    assert (rt.gross_pnl, rt.fees) == (D(260), D(4))
    assert rt.quantity == D(200)
    assert (rt.entry_price, rt.exit_price) == (D(5), D("6.3"))  # 1000/200, 1260/200
    assert sum((r.fees for r in res.realizations), D(0)) == D(4)


@pytest.mark.parametrize("method", METHODS)
def test_open_position_after_split_keeps_cost_basis_and_fees(method: MatchMethod) -> None:
    res = match_round_trips(
        [fill(0, "buy", 100, 10, 1), fill(1, "buy", 100, 20, 3)], method, [split(10, 2, 1)]
    )
    (pos,) = res.open_positions
    assert (pos.quantity, pos.cost_basis, pos.fees) == (D(400), D(3000), D(4))
    assert pos.average_price == D("7.5")
    assert sum((lot.quantity for lot in pos.lots), D(0)) == D(400)
    if method != "average":
        assert [(lot.quantity, lot.price, lot.fees) for lot in pos.lots] == [
            (D(200), D(5), D(1)),
            (D(200), D(10), D(3)),
        ]


# -- reverse 1-for-10 -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "first_close"),
    # lots 500 @ 1 and 500 @ 2 become 50 @ 10 and 50 @ 20 (average 15); 50 sold at 25
    [("fifo", D(750)), ("lifo", D(250)), ("average", D(500))],
)
def test_reverse_split(method: MatchMethod, first_close: D) -> None:
    res = match_round_trips(
        [
            fill(0, "buy", 500, 1, 1),
            fill(1, "buy", 500, 2, 1),
            fill(20, "sell", 50, 25),
            fill(30, "sell", 50, 22),
        ],
        method,
        [split(10, 1, 10)],
    )
    assert res.realizations[0].gross_pnl == first_close
    (rt,) = res.round_trips  # the full post-split quantity closes it
    assert not res.open_positions
    assert rt.gross_pnl == realized(res) == D(50 * 25 + 50 * 22 - 1500)
    assert (rt.quantity, rt.entry_price) == (D(100), D(15))


@pytest.mark.parametrize("method", METHODS)
def test_reverse_split_partial_close_before(method: MatchMethod) -> None:
    # 1000 @ 1; 400 sold at 1.5 (+200); 1:10 leaves 60 shares @ 10, sold at 12 (+120)
    res = match_round_trips(
        [fill(0, "buy", 1000, 1), fill(5, "sell", 400, "1.5"), fill(20, "sell", 60, 12)],
        method,
        [split(10, 1, 10)],
    )
    assert [r.gross_pnl for r in res.realizations] == [D(200), D(120)]
    (rt,) = res.round_trips
    assert (rt.gross_pnl, rt.quantity) == (D(320), D(100))


# -- short lots ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_short_position_forward_split(method: MatchMethod) -> None:
    # short 100 @ 50 = 5000 received; 2:1 -> short 200 @ 25; covered at 24: 5000 - 4800
    res = match_round_trips(
        [fill(0, "sell", 100, 50), fill(20, "buy", 200, 24)], method, [split(10, 2, 1)]
    )
    (rt,) = res.round_trips
    assert (rt.direction, rt.gross_pnl, rt.quantity) == ("short", D(200), D(200))


@pytest.mark.parametrize("method", METHODS)
def test_short_position_reverse_split_partial_cover(method: MatchMethod) -> None:
    # short 100 @ 2 and 100 @ 3; 1:10 -> 10 @ 20 and 10 @ 30; cover 10 at 25, then 10 at 25
    res = match_round_trips(
        [
            fill(0, "sell", 100, 2),
            fill(1, "sell", 100, 3),
            fill(20, "buy", 10, 25),
            fill(30, "buy", 10, 25),
        ],
        method,
        [split(10, 1, 10)],
    )
    first = {"fifo": D(-50), "lifo": D(50), "average": D(0)}[method]
    assert res.realizations[0].gross_pnl == first
    (rt,) = res.round_trips
    assert rt.gross_pnl == realized(res) == D(0)  # received 500, paid 500


# -- ratio from the quantity change the broker reports ----------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_split_by_quantity_delta(method: MatchMethod) -> None:
    # Schwab's AVGO row: 1 share bought at 1680, "Stock Split" +9 -> 10 shares at 168
    res = match_round_trips(
        [fill(0, "buy", 1, 1680), fill(20, "sell", 10, 175)], method, [split(10, delta=9)]
    )
    (rt,) = res.round_trips
    assert (rt.gross_pnl, rt.entry_price, rt.quantity) == (D(70), D(168), D(10))


def test_short_split_by_quantity_delta_is_signed() -> None:
    # short 100; the broker reports -100 (one more short share per share): 2:1
    res = match_round_trips(
        [fill(0, "sell", 100, 50)], "fifo", [split(10, delta=-100)]
    )
    (pos,) = res.open_positions
    assert (pos.quantity, pos.average_price) == (D(-200), D(25))


def test_quantity_delta_that_empties_the_position_names_the_row() -> None:
    with pytest.raises(SplitError, match=r"row 7"):
        match_round_trips([fill(0, "buy", 10, 5)], "fifo", [split(10, delta=-10)])


# -- inexact ratios still close completely ----------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_one_for_three_closes_the_whole_position(method: MatchMethod) -> None:
    # 150 shares (cost 1550) -> 50; the lots 33.333... and 16.666... add up to 50 exactly
    res = match_round_trips(
        [fill(0, "buy", 100, 10), fill(1, "buy", 50, 11), fill(20, "sell", 50, 40)],
        method,
        [split(10, 1, 3)],
    )
    assert not res.open_positions
    (rt,) = res.round_trips
    assert rt.gross_pnl == D(2000 - 1550)
    assert abs(realized(res) - rt.gross_pnl) < D("1e-15")


# -- what a split does not touch ------------------------------------------------------------


def test_split_of_flat_position_or_other_books_does_nothing() -> None:
    fills = [
        fill(0, "buy", 10, 100),
        fill(1, "sell", 10, 110),  # flat before the split
        fill(2, "buy", 5, 50, inst=MSFT),
        fill(3, "buy", 5, 100, account="B"),
        fill(20, "buy", 10, 60),
        fill(21, "sell", 10, 61),
    ]
    plain = match_round_trips(fills)
    with_split = match_round_trips(fills, "fifo", [split(10, 2, 1), split(0, 3, 1, inst=MSFT)])
    assert [rt.gross_pnl for rt in with_split.round_trips] == [D(100), D(10)]
    assert plain.round_trips == with_split.round_trips
    assert plain.open_positions == with_split.open_positions  # MSFT split before buying


def test_split_applies_before_fills_at_its_time() -> None:
    # A date-only export dates both on the ex-date: the fill is in post-split units.
    res = match_round_trips(
        [fill(0, "buy", 100, 10), fill(10, "sell", 200, 6)], "fifo", [split(10, 2, 1)]
    )
    (rt,) = res.round_trips
    assert rt.gross_pnl == D(200)


def test_splits_are_applied_in_time_order_whatever_the_input_order() -> None:
    # 100 @ 40; 2:1 -> 200 @ 20; 100 sold at 21 (+100); 1:10 -> 10 @ 200; sold at 210 (+100)
    fills = [fill(0, "buy", 100, 40), fill(7, "sell", 100, 21), fill(30, "sell", 10, 210)]
    actions = [split(10, 1, 10), split(5, 2, 1)]
    res = match_round_trips(fills, "fifo", actions)
    assert [r.gross_pnl for r in res.realizations] == [D(100), D(100)]
    (rt,) = res.round_trips
    assert (rt.gross_pnl, rt.quantity, rt.entry_price) == (D(200), D(20), D(200))


def test_no_actions_is_the_plain_match() -> None:
    fills = [fill(0, "buy", 100, 10, 1), fill(5, "sell", 60, 12, 1), fill(9, "sell", 40, 9)]
    for method in METHODS:
        assert match_round_trips(fills, method, []) == match_round_trips(fills, method)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"new_units": D(2)}, "either"),
        ({"new_units": D(2), "old_units": D(1), "quantity_delta": D(3)}, "either"),
        ({}, "either"),
        ({"new_units": D(0), "old_units": D(1)}, "positive"),
        ({"new_units": D(2), "old_units": D(-1)}, "positive"),
        ({"quantity_delta": D(0)}, "zero"),
    ],
)
def test_corporate_action_rejects_bad_ratios(kwargs: dict[str, D], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CorporateAction("A", AAPL, T0, **kwargs)  # type: ignore[arg-type]

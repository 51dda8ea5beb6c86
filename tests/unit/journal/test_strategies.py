"""Multi-leg strategies: grouping legs into positions and recognising the strategy.

Every case is built by hand: strikes, sides and ratios chosen to hit (or just miss) one
rule of `classify`; P&L figures are the legs' own, summed by hand.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from tradestats.journal.importers import parse_file
from tradestats.journal.matching import match_round_trips
from tradestats.journal.model import (
    AssetClass,
    Execution,
    Instrument,
    OptionRight,
    RoundTrip,
    Side,
)
from tradestats.journal.strategies import (
    Leg,
    StrategyKind,
    StrategyPosition,
    classify,
    group_legs,
    legs_of,
    strategy_positions,
)

K = StrategyKind
T0 = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)
T1 = T0 + timedelta(days=3)
JAN = date(2024, 3, 15)
FEB = date(2024, 4, 19)
STOCK = Instrument("XYZ", AssetClass.STOCK, "XYZ")
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "brokers"


def option(
    right: str, strike: int | str, expiry: date = JAN, underlying: str = "XYZ", mult: int = 100
) -> Instrument:
    r = OptionRight(right)
    code = f"{underlying:<6}{expiry:%y%m%d}{'C' if r is OptionRight.CALL else 'P'}{strike}"
    return Instrument(
        code,
        AssetClass.OPTION,
        underlying,
        multiplier=D(mult),
        expiry=expiry,
        strike=D(strike),
        right=r,
    )


def leg(
    inst: Instrument,
    direction: str = "long",
    qty: int | str = 1,
    *,
    entry_price: str = "1",
    gross: str = "0",
    fees: str = "0",
    entry: datetime = T0,
    exit: datetime | None = T1,
    order: str | None = None,
    account: str = "A",
    key: str | None = None,
) -> Leg:
    trip = RoundTrip(
        account=account,
        instrument=inst,
        direction=direction,
        entry_time=entry,
        exit_time=exit,
        quantity=D(qty),
        entry_price=D(entry_price),
        exit_price=None if exit is None else D(0),
        gross_pnl=D(gross),
        fees=D(fees),
        net_pnl=D(gross) - D(fees),
    )
    return Leg(trip, order, key)


def one(legs: list[Leg], window: float = 2.0) -> StrategyPosition:
    positions = group_legs(legs, window)
    assert len(positions) == 1, [p.strategy for p in positions]
    return positions[0]


# --- classification: single legs ------------------------------------------------------


@pytest.mark.parametrize(
    ("inst", "direction", "kind"),
    [
        (option("call", 100), "long", K.LONG_CALL),
        (option("call", 100), "short", K.SHORT_CALL),
        (option("put", 100), "long", K.LONG_PUT),
        (option("put", 100), "short", K.SHORT_PUT),
        (STOCK, "long", K.LONG_STOCK),
        (STOCK, "short", K.SHORT_STOCK),
        (Instrument("MESM4", AssetClass.FUTURE, "MES", multiplier=D(5)), "short", K.OUTRIGHT),
    ],
)
def test_single_leg_kinds_keep_their_direction(
    inst: Instrument, direction: str, kind: StrategyKind
) -> None:
    p = one([leg(inst, direction)])
    assert (p.strategy, p.direction, p.units) == (kind, direction, 1)


def test_classify_needs_a_leg() -> None:
    with pytest.raises(ValueError, match="at least one leg"):
        classify([])


# --- verticals, calendars, diagonals -----------------------------------------------------


@pytest.mark.parametrize(
    ("long_strike", "short_strike", "right", "kind"),
    [
        (100, 105, "call", K.CALL_DEBIT_VERTICAL),  # bull call: buy the lower call
        (105, 100, "call", K.CALL_CREDIT_VERTICAL),  # bear call: sell the lower call
        (105, 100, "put", K.PUT_DEBIT_VERTICAL),  # bear put: buy the higher put
        (100, 105, "put", K.PUT_CREDIT_VERTICAL),  # bull put: sell the higher put
    ],
)
def test_verticals_debit_or_credit_from_the_strikes(
    long_strike: int, short_strike: int, right: str, kind: StrategyKind
) -> None:
    legs = [
        leg(option(right, long_strike), "long", 2, order="O1"),
        leg(option(right, short_strike), "short", 2, order="O1"),
    ]
    p = one(legs)
    assert p.strategy is kind
    assert p.units == 2


def test_vertical_direction_is_the_net_opening_cash() -> None:
    # Bull call: pay 3.00 for the 100 call, receive 1.20 for the 105: debit 180 -> long.
    debit = one(
        [
            leg(option("call", 100), "long", entry_price="3.00"),
            leg(option("call", 105), "short", entry_price="1.20"),
        ]
    )
    assert (debit.strategy, debit.direction) == (K.CALL_DEBIT_VERTICAL, "long")
    # Bull put: receive 2.50 for the 105 put, pay 0.90 for the 100: credit 160 -> short.
    credit = one(
        [
            leg(option("put", 105), "short", entry_price="2.50"),
            leg(option("put", 100), "long", entry_price="0.90"),
        ]
    )
    assert (credit.strategy, credit.direction) == (K.PUT_CREDIT_VERTICAL, "short")


def test_ratio_spread_and_same_side_pairs_are_custom() -> None:
    ratio = [leg(option("call", 100), "long", 1), leg(option("call", 105), "short", 2)]
    assert one(ratio).strategy is K.CUSTOM
    both_long = [leg(option("call", 100), "long"), leg(option("call", 105), "long")]
    assert one(both_long).strategy is K.CUSTOM


def test_calendar_same_strike_two_expiries() -> None:
    legs = [leg(option("call", 100, JAN), "short"), leg(option("call", 100, FEB), "long")]
    assert one(legs).strategy is K.CALENDAR


def test_diagonal_different_strike_and_expiry() -> None:
    legs = [leg(option("put", 95, JAN), "short"), leg(option("put", 90, FEB), "long")]
    assert one(legs).strategy is K.DIAGONAL


# --- straddles and strangles -----------------------------------------------------------------


def test_straddle_long_and_short() -> None:
    bought = [
        leg(option("call", 100), "long", entry_price="2"),
        leg(option("put", 100), "long", entry_price="1.5"),
    ]
    p = one(bought)
    assert (p.strategy, p.direction) == (K.STRADDLE, "long")
    sold = [leg(option("call", 100), "short"), leg(option("put", 100), "short")]
    p = one(sold)
    assert (p.strategy, p.direction) == (K.STRADDLE, "short")


def test_strangle_and_its_near_misses() -> None:
    assert one([leg(option("put", 95), "short"), leg(option("call", 105), "short")]).strategy is (
        K.STRANGLE
    )
    two_expiries = [leg(option("put", 95, JAN), "short"), leg(option("call", 105, FEB), "short")]
    assert one(two_expiries).strategy is K.CUSTOM
    risk_reversal = [leg(option("put", 95), "short"), leg(option("call", 105), "long")]
    assert one(risk_reversal).strategy is K.CUSTOM
    unequal = [leg(option("put", 95), "short", 1), leg(option("call", 105), "short", 2)]
    assert one(unequal).strategy is K.CUSTOM


# --- four legs ---------------------------------------------------------------------------------


def test_short_iron_condor_is_a_credit() -> None:
    # Receive 1.05 + 1.10, pay 0.60 + 0.35: credit 1.20 per unit -> short.
    legs = [
        leg(option("put", 525), "long", entry_price="0.60"),
        leg(option("put", 530), "short", entry_price="1.05"),
        leg(option("call", 540), "short", entry_price="1.10"),
        leg(option("call", 545), "long", entry_price="0.35"),
    ]
    p = one(legs)
    assert (p.strategy, p.direction, p.units) == (K.IRON_CONDOR, "short", 1)


def test_reverse_iron_condor_is_long() -> None:
    legs = [
        leg(option("put", 525), "short", entry_price="0.60"),
        leg(option("put", 530), "long", entry_price="1.05"),
        leg(option("call", 540), "long", entry_price="1.10"),
        leg(option("call", 545), "short", entry_price="0.35"),
    ]
    p = one(legs)
    assert (p.strategy, p.direction) == (K.IRON_CONDOR, "long")


def test_iron_butterfly_shares_the_short_strike() -> None:
    legs = [
        leg(option("put", 90), "long", 3),
        leg(option("put", 100), "short", 3),
        leg(option("call", 100), "short", 3),
        leg(option("call", 110), "long", 3),
    ]
    p = one(legs)
    assert (p.strategy, p.units) == (K.IRON_BUTTERFLY, 3)


@pytest.mark.parametrize(
    "legs",
    [
        # short put above the short call: the verticals overlap
        [
            leg(option("put", 100), "long"),
            leg(option("put", 110), "short"),
            leg(option("call", 105), "short"),
            leg(option("call", 115), "long"),
        ],
        # two expiries
        [
            leg(option("put", 90, JAN), "long"),
            leg(option("put", 95, JAN), "short"),
            leg(option("call", 105, FEB), "short"),
            leg(option("call", 110, FEB), "long"),
        ],
        # wings on different sides (a put credit spread and a call debit spread)
        [
            leg(option("put", 90), "long"),
            leg(option("put", 95), "short"),
            leg(option("call", 105), "long"),
            leg(option("call", 110), "short"),
        ],
        # four calls (a condor of one right is not an iron condor)
        [
            leg(option("call", 90), "long"),
            leg(option("call", 95), "short"),
            leg(option("call", 105), "short"),
            leg(option("call", 110), "long"),
        ],
        # unequal quantities
        [
            leg(option("put", 90), "long", 2),
            leg(option("put", 95), "short", 1),
            leg(option("call", 105), "short", 1),
            leg(option("call", 110), "long", 1),
        ],
    ],
)
def test_four_leg_near_misses_are_custom(legs: list[Leg]) -> None:
    assert one(legs).strategy is K.CUSTOM


# --- butterflies -------------------------------------------------------------------------------


def test_butterfly_one_two_one() -> None:
    legs = [
        leg(option("call", 95), "long", 1, entry_price="6.00"),
        leg(option("call", 100), "short", 2, entry_price="3.20"),
        leg(option("call", 105), "long", 1, entry_price="1.40"),
    ]
    p = one(legs)
    # Pay 6.00 + 1.40, receive 2 x 3.20: debit 1.00 -> long; gcd(1, 2, 1) = 1 unit.
    assert (p.strategy, p.direction, p.units) == (K.BUTTERFLY, "long", 1)


@pytest.mark.parametrize(
    "legs",
    [
        [  # broken wing: 95/100/110
            leg(option("put", 95), "long", 1),
            leg(option("put", 100), "short", 2),
            leg(option("put", 110), "long", 1),
        ],
        [  # 1:1:1
            leg(option("put", 95), "long", 1),
            leg(option("put", 100), "short", 1),
            leg(option("put", 105), "long", 1),
        ],
        [  # body on the wings' side
            leg(option("put", 95), "long", 1),
            leg(option("put", 100), "long", 2),
            leg(option("put", 105), "long", 1),
        ],
        [  # mixed rights
            leg(option("put", 95), "long", 1),
            leg(option("call", 100), "short", 2),
            leg(option("put", 105), "long", 1),
        ],
    ],
)
def test_butterfly_near_misses_are_custom(legs: list[Leg]) -> None:
    assert one(legs).strategy is K.CUSTOM


# --- with stock ----------------------------------------------------------------------------------


def test_covered_call_protective_put_and_collar() -> None:
    covered = one([leg(STOCK, "long", 200), leg(option("call", 105), "short", 2)])
    assert (covered.strategy, covered.units) == (K.COVERED_CALL, 2)
    protective = one([leg(STOCK, "long", 100), leg(option("put", 95), "long", 1)])
    assert protective.strategy is K.PROTECTIVE_PUT
    collar = one(
        [
            leg(STOCK, "long", 100),
            leg(option("put", 95), "long", 1),
            leg(option("call", 105), "short", 1),
        ]
    )
    assert collar.strategy is K.COLLAR
    # the stock leg is listed first, then the options by expiry and strike
    assert [leg.instrument.symbol for leg in collar.legs] == [
        "XYZ",
        option("put", 95).symbol,
        option("call", 105).symbol,
    ]


@pytest.mark.parametrize(
    "legs",
    [
        [leg(STOCK, "long", 200), leg(option("call", 105), "short", 1)],  # half covered
        [leg(STOCK, "short", 100), leg(option("call", 105), "short", 1)],  # short stock
        [leg(STOCK, "long", 100), leg(option("call", 105), "long", 1)],  # long call
        [leg(STOCK, "long", 100), leg(option("put", 95), "short", 1)],  # short put
        [  # collar with the put above the call
            leg(STOCK, "long", 100),
            leg(option("put", 110), "long", 1),
            leg(option("call", 105), "short", 1),
        ],
    ],
)
def test_stock_near_misses_are_custom(legs: list[Leg]) -> None:
    assert one(legs).strategy is K.CUSTOM


def test_mixed_multipliers_and_futures_are_custom() -> None:
    mini = option("call", 105, mult=10)
    assert one([leg(option("call", 100), "long"), leg(mini, "short")]).strategy is K.CUSTOM
    future = Instrument("XYZM4", AssetClass.FUTURE, "XYZ", multiplier=D(100))
    assert one([leg(future, "long"), leg(option("call", 105), "short")]).strategy is K.CUSTOM


# --- grouping ------------------------------------------------------------------------------------


def test_shared_order_id_groups_legs_whatever_their_time() -> None:
    later = T0 + timedelta(seconds=40)
    legs = [
        leg(option("call", 100), "long", order="O1"),
        leg(option("call", 105), "short", entry=later, order="O1"),
    ]
    p = one(legs, window=2)
    assert p.strategy is K.CALL_DEBIT_VERTICAL
    assert p.order_ids == ["O1"]


def test_time_window_groups_legs_without_a_linking_order_id() -> None:
    call = option("call", 100)
    put = option("put", 100)
    near = [leg(call, "long"), leg(put, "long", entry=T0 + timedelta(seconds=2))]
    assert one(near, window=2).strategy is K.STRADDLE
    far = [leg(call, "long"), leg(put, "long", entry=T0 + timedelta(seconds=3))]
    assert [p.strategy for p in group_legs(far, 2)] == [K.LONG_CALL, K.LONG_PUT]
    assert one(far, window=5).strategy is K.STRADDLE
    # Two orders a second apart, no order shared: legging in, one position.
    legged = [
        leg(STOCK, "long", 100, order="B1"),
        leg(call, "short", entry=T0 + timedelta(seconds=1), order="S7"),
    ]
    p = one(legged)
    assert (p.strategy, p.order_ids) == (K.COVERED_CALL, ["B1", "S7"])


def test_window_counts_from_the_first_leg_not_the_previous_one() -> None:
    legs = [
        leg(option("call", 100), "long"),
        leg(option("call", 105), "short", entry=T0 + timedelta(seconds=1.5)),
        leg(option("call", 110), "short", entry=T0 + timedelta(seconds=3)),
    ]
    positions = group_legs(legs, 2)
    assert [len(p.legs) for p in positions] == [2, 1]


def test_accounts_underlyings_and_reopened_instruments_stay_apart() -> None:
    call = option("call", 100)
    other = option("call", 100, underlying="ABC")
    legs = [
        leg(call, "long", account="A"),
        leg(option("put", 100), "long", account="B"),  # other account
        leg(other, "long", account="A"),  # other underlying
        # the same instrument re-opened within the window: a new position
        leg(call, "short", entry=T0 + timedelta(seconds=1), account="A"),
    ]
    positions = group_legs(legs, 2)
    assert len(positions) == 4
    assert all(len(p.legs) == 1 for p in positions)


def test_same_order_id_in_two_underlyings_is_two_positions() -> None:
    legs = [
        leg(option("call", 100), "long", order="O1"),
        leg(option("call", 100, underlying="ABC"), "short", order="O1"),
    ]
    assert len(group_legs(legs)) == 2


def test_negative_window_is_rejected() -> None:
    with pytest.raises(ValueError, match="window_seconds"):
        group_legs([], -1)


def test_position_money_and_times_are_those_of_its_legs() -> None:
    first_in = T0
    last_in = T0 + timedelta(seconds=1)
    first_out = T0 + timedelta(days=1)
    last_out = T0 + timedelta(days=2)
    legs = [
        leg(
            option("put", 105),
            "short",
            gross="210.00",
            fees="1.30",
            entry=last_in,
            exit=first_out,
            order="O9",
            key="t2",
        ),
        leg(
            option("put", 100),
            "long",
            gross="-75.50",
            fees="1.25",
            entry=first_in,
            exit=last_out,
            order="O9",
            key="t1",
        ),
    ]
    p = one(legs)
    # gross 210.00 - 75.50 = 134.50; fees 1.30 + 1.25 = 2.55; net 134.50 - 2.55 = 131.95
    assert (p.gross_pnl, p.fees, p.net_pnl) == (D("134.50"), D("2.55"), D("131.95"))
    assert (p.entry_time, p.exit_time) == (first_in, last_out)
    assert p.holding_seconds == 2 * 86400
    assert p.id == "t1"  # the first leg's stored id
    assert not p.is_open


def test_a_leg_still_open_keeps_the_position_open() -> None:
    legs = [
        leg(option("put", 105), "short", gross="80"),
        leg(option("put", 100), "long", exit=None),
    ]
    p = one(legs)
    assert p.strategy is K.PUT_CREDIT_VERTICAL
    assert p.is_open and p.exit_time is None and p.holding_seconds is None


def test_fractional_quantities_have_no_units() -> None:
    coin = Instrument("BTC-USD", AssetClass.CRYPTO_SPOT, "BTC")
    assert one([leg(coin, "long", "0.5")]).units is None


# --- from fills ----------------------------------------------------------------------------------


def fill(seconds: float, side: Side, inst: Instrument, price: str, order: str | None) -> Execution:
    return Execution(
        account="A",
        instrument=inst,
        timestamp=T0 + timedelta(seconds=seconds),
        side=side,
        quantity=D(1),
        price=D(price),
        fees=D("0.65"),
        order_id=order,
    )


def test_round_trips_from_matching_group_by_their_opening_order() -> None:
    lower, upper = option("call", 100), option("call", 105)
    fills = [
        fill(0, Side.BUY, lower, "3.00", "open-1"),
        fill(0, Side.SELL, upper, "1.20", "open-1"),
        fill(86400, Side.SELL, lower, "4.50", "close-1"),
        fill(86400, Side.BUY, upper, "2.00", "close-1"),
    ]
    trips = match_round_trips(fills).round_trips
    assert [leg.order_id for leg in legs_of(trips)] == ["open-1", "open-1"]
    (p,) = strategy_positions(trips, window_seconds=0)
    # lower: (4.50 - 3.00) x 100 = 150; upper: -(2.00 - 1.20) x 100 = -80; gross 70;
    # fees 4 x 0.65 = 2.60; net 67.40
    assert p.strategy is K.CALL_DEBIT_VERTICAL
    assert (p.gross_pnl, p.fees, p.net_pnl) == (D("70.00"), D("2.60"), D("67.40"))


# --- real exports --------------------------------------------------------------------------------


def positions_of(relative: str) -> list[StrategyPosition]:
    result = match_round_trips(parse_file(FIXTURES / relative).executions)
    return strategy_positions(result.round_trips + [o.round_trip for o in result.open_positions])


def test_thinkorswim_statement_vertical_and_iron_condor() -> None:
    positions = positions_of("thinkorswim/account_statement_spreads_written_for_tradestats.csv")
    by_kind: dict[StrategyKind, StrategyPosition] = {p.strategy: p for p in positions}
    assert sorted(by_kind) == sorted(
        [K.CALL_DEBIT_VERTICAL, K.IRON_CONDOR, K.LONG_STOCK, K.OUTRIGHT]
    )
    vertical = by_kind[K.CALL_DEBIT_VERTICAL]
    # BOT +1 VERTICAL SPY 590/595 CALL @2.10, SOLD -1 @3.40: (3.40 - 2.10) x 100 = 130,
    # the statement's P/L YTD for SPY; fees 0.02 + 1.30 + 0.04 + 1.30 = 2.66
    assert (vertical.underlying, vertical.direction) == ("SPY", "long")
    assert (vertical.gross_pnl, vertical.fees, vertical.net_pnl) == (
        D("130.00"),
        D("2.66"),
        D("127.34"),
    )
    assert vertical.order_ids == ["1000001"]
    condor = by_kind[K.IRON_CONDOR]
    # Sold for 1.20 credit (1.05 + 1.10 - 0.60 - 0.35), all four legs expired: +120
    assert (condor.underlying, condor.direction, len(condor.legs)) == ("QQQ", "short", 4)
    assert condor.net_pnl == D("120.00")
    assert [leg.instrument.strike for leg in condor.legs] == [525, 530, 540, 545]


def test_tastytrade_history_recognises_spreads_by_order_number() -> None:
    positions = positions_of(
        "tastytrade/tastyworksTaxes_tastytrade_transactions_history_180201_to_240817.csv"
    )
    aal = next(
        p for p in positions if p.underlying == "AAL" and p.entry_time.date() == date(2020, 2, 14)
    )
    # Order # 67898188: sold 3 AAL 28 calls, bought 3 AAL 31 calls (entries 1 s apart);
    # legs' gross 630 and -381 -> 249, fees 3.88 + 3.86 = 7.74
    assert aal.strategy is K.CALL_CREDIT_VERTICAL
    assert (aal.direction, aal.units, aal.order_ids) == ("short", 3, ["67898188"])
    assert (aal.gross_pnl, aal.fees) == (D("249.00"), D("7.74"))
    straddles = [p for p in positions if p.strategy is K.STRADDLE]
    assert len(straddles) == 4
    assert {(p.underlying, p.direction) for p in straddles} == {("PCG", "short")}


def test_tastytrade_covered_call_and_future_option_spreads() -> None:
    tsll = positions_of("tastytrade/binnaculum_TsllImportTest.csv")
    covered = [p for p in tsll if p.strategy is K.COVERED_CALL]
    assert len(covered) == 1
    (cc,) = covered
    # Order # 350456522 bought 1,100 TSLL and sold 11 Nov 15 17 calls (a buy-write)
    assert [leg.instrument.asset_class for leg in cc.legs] == [AssetClass.STOCK, AssetClass.OPTION]
    assert (cc.units, cc.gross_pnl, cc.fees) == (11, D("170.00"), D("15.31"))
    mes = positions_of("tastytrade/laroche_MES_LT112_future_options.csv")
    kinds = sorted(p.strategy.value for p in mes)
    assert kinds == ["put_debit_vertical", "short_put"]
    spread = next(p for p in mes if p.strategy is K.PUT_DEBIT_VERTICAL)
    # Sold the 5050 put @ 54.0 and bought the 5100 put @ 61.5 (MES options: x5), both
    # expired: 270.0 - 307.5 = -37.5; fees 2 x (1.50 + 0.46) = 3.92
    assert (spread.underlying, spread.direction) == ("MESU4", "long")
    assert (spread.gross_pnl, spread.fees) == (D("-37.5"), D("3.92"))


def test_ibkr_flex_legs_of_two_orders_at_one_time_are_one_position() -> None:
    positions = positions_of("ibkr/ib2tw_trades_flex.xml")
    condor = next(p for p in positions if p.strategy is K.IRON_CONDOR)
    # Opened by synthetic opening lots (no order id) at one time: linked by time alone.
    assert (condor.underlying, condor.direction, condor.units) == ("RUT", "short", 120)
    assert [leg.instrument.strike for leg in condor.legs] == [1435, 1465, 1480, 1510]
    vertical = next(p for p in positions if p.strategy is K.PUT_CREDIT_VERTICAL)
    # ibOrderID 42935543 bought the 1615 put, 42935544 sold the 1620 put, same second:
    # no order id links them, the time window does. Still open at the statement's end.
    assert vertical.order_ids == ["42935543", "42935544"]
    assert vertical.is_open and vertical.units == 300

"""Plain data types of the journal, shared by importers, matching, statistics and store.

No Flask, no SQLAlchemy here: these are the values every layer passes around.
Money and quantities are `Decimal` so that P&L reconciles to the cent with brokers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class AssetClass(StrEnum):
    STOCK = "stock"  # stocks and ETFs
    OPTION = "option"  # equity/index options
    FUTURE = "future"
    FUTURE_OPTION = "future_option"
    CRYPTO_SPOT = "crypto_spot"
    CRYPTO_PERP = "crypto_perp"
    FOREX = "forex"


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OptionRight(StrEnum):
    CALL = "call"
    PUT = "put"


@dataclass(frozen=True, slots=True)
class Instrument:
    """What was traded. `symbol` is the broker-independent key within an asset class:
    the ticker for stocks/crypto, the OCC-style id for options
    (``AAPL  240119C00150000``), the contract code for futures (``MESZ5``).

    `multiplier` converts price x quantity into money: 1 for stocks and crypto, 100 for
    standard equity options, the per-root value for futures (ES 50, MES 5, CL 1000...).
    """

    symbol: str
    asset_class: AssetClass
    underlying: str
    multiplier: Decimal = Decimal(1)
    expiry: date | None = None
    strike: Decimal | None = None
    right: OptionRight | None = None
    currency: str = "USD"

    @property
    def key(self) -> str:
        return f"{self.asset_class.value}:{self.symbol}"


@dataclass(frozen=True, slots=True)
class Execution:
    """One fill. `quantity` is always positive; `side` gives the direction.

    `fees` is the total of commissions and fees for this fill as a positive cost (a
    rebate is negative). `timestamp` is timezone-aware UTC. `row` is the 1-based row
    (or record) number in the source file, for reports.

    Price and fees are in ``instrument.currency``. `fx_rate` is the export's rate from
    that currency to the account's base currency (IBKR ``fxRateToBase``: base units per
    unit of the fill's currency), or None when the export gives none; a fill in the base
    currency needs none (its rate is 1).
    """

    account: str
    instrument: Instrument
    timestamp: datetime
    side: Side
    quantity: Decimal
    price: Decimal
    fees: Decimal = Decimal(0)
    broker: str = "generic"
    broker_execution_id: str | None = None
    order_id: str | None = None
    row: int | None = None
    raw: dict[str, str] | None = field(default=None, compare=False, hash=False)
    fx_rate: Decimal | None = None

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity if self.side is Side.BUY else -self.quantity


@dataclass(frozen=True, slots=True)
class CorporateAction:
    """A split (forward or reverse) of `instrument` in `account`, effective at `timestamp`.

    The ratio is `new_units` for `old_units` (2-for-1: 2 and 1; 1-for-10: 1 and 10).
    Brokers that report only the change of the position (Schwab's "Stock Split" row: +9
    shares on 1 held for a 10-for-1 split) give `quantity_delta` instead, the signed
    change of the position; the ratio is then (held + delta) / held at the split time,
    worked out by the matcher from the position it holds. Exactly one of the two forms is
    set. Matching scales the open lots of the position: quantity x ratio, per-unit price
    / ratio, cost basis and fees unchanged. `kind` is ``"split"`` (the only kind so far).
    """

    account: str
    instrument: Instrument
    timestamp: datetime
    new_units: Decimal | None = None
    old_units: Decimal | None = None
    quantity_delta: Decimal | None = None
    kind: str = "split"
    broker: str = "generic"
    row: int | None = None
    description: str = ""
    raw: dict[str, str] | None = field(default=None, compare=False, hash=False)

    def __post_init__(self) -> None:
        by_ratio = self.new_units is not None and self.old_units is not None
        by_delta = self.quantity_delta is not None
        if by_ratio == by_delta or (self.new_units is None) != (self.old_units is None):
            raise ValueError(
                "a corporate action needs either new_units and old_units or quantity_delta"
            )
        if by_ratio and not (
            self.new_units is not None
            and self.old_units is not None
            and self.new_units > 0
            and self.old_units > 0
        ):
            raise ValueError(
                f"split ratio must be positive, got {self.new_units} for {self.old_units}"
            )
        if by_delta and self.quantity_delta == 0:
            raise ValueError("split quantity change must not be zero")


@dataclass(frozen=True, slots=True)
class Rejection:
    """A source row that was not imported, with where and why."""

    row: int
    column: str | None
    reason: str
    raw: dict[str, str] | None = None


@dataclass(slots=True)
class RoundTrip:
    """One position in one account and instrument, from flat back to flat.

    P&L fields are money (multiplier applied). `gross_pnl` ignores fees; `fees` is the sum
    of the fee shares of every fill (pro rata to the quantity each contributed);
    `net_pnl = gross_pnl - fees`. `direction` is "long" or "short" (sign of the opening
    fill). `holding_seconds` is exit_time - entry_time in seconds.

    Money is in ``instrument.currency``. When closing fills carry an FX rate,
    `base_gross_pnl` and `base_fees` are the same figures in the account's base currency:
    the sum over the round trip's realizations of each one's P&L times the rate of its
    closing fill (see `tradestats.journal.matching`); None means no conversion (the
    instrument is in the base currency), and `base_net_pnl` is then `net_pnl`.
    """

    account: str
    instrument: Instrument
    direction: str
    entry_time: datetime
    exit_time: datetime | None
    quantity: Decimal  # maximum absolute position size reached
    entry_price: Decimal  # quantity-weighted average price of opening fills
    exit_price: Decimal | None  # quantity-weighted average price of closing fills
    gross_pnl: Decimal
    fees: Decimal
    net_pnl: Decimal
    executions: list[Execution] = field(default_factory=list)
    risk: Decimal | None = None
    tags: list[str] = field(default_factory=list)
    notes: str = ""
    base_gross_pnl: Decimal | None = None
    base_fees: Decimal | None = None

    @property
    def base_net_pnl(self) -> Decimal:
        """Net P&L in the account's base currency."""
        if self.base_gross_pnl is None or self.base_fees is None:
            return self.net_pnl
        return self.base_gross_pnl - self.base_fees

    @property
    def is_open(self) -> bool:
        return self.exit_time is None

    @property
    def holding_seconds(self) -> float | None:
        if self.exit_time is None:
            return None
        return (self.exit_time - self.entry_time).total_seconds()

    @property
    def r_multiple(self) -> Decimal | None:
        if self.risk is None or self.risk == 0:
            return None
        return self.net_pnl / self.risk

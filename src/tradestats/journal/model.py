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

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity if self.side is Side.BUY else -self.quantity


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

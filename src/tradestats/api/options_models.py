"""Query and response models of the options / market / earnings endpoints (they are
also the OpenAPI schemas)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# -- query models -------------------------------------------------------------------------


class AnalysisQuery(BaseModel):
    """Screen options; defaults are the reference earnings volatility calculator's."""

    model_config = ConfigDict(extra="forbid")

    rv_variant: Literal["calculator", "textbook"] = Field(
        default="calculator",
        description="Yang-Zhang variant: calculator-compatible (close-to-close term, no "
        "de-meaning) or textbook (open-to-close, de-meaned)",
    )
    # Omitted thresholds are the saved settings' (`/api/settings`; defaults 1.5M, 1.25,
    # -0.00406, the reference calculator's).
    min_avg_volume: float | None = Field(
        default=None, ge=0, le=1e12, description="default: the saved setting"
    )
    min_iv30_rv30: float | None = Field(
        default=None, gt=0, le=100, description="default: the saved setting"
    )
    max_slope: float | None = Field(
        default=None, ge=-10, le=10, description="default: the saved setting"
    )


class ChainQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expiry: dt.date | None = Field(default=None, description="listed expiry; default nearest")


class SpreadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    earnings_date: dt.date | None = Field(
        default=None, description="announcement date; default: the next known one"
    )
    timing: Literal["BMO", "AMC"] | None = Field(
        default=None, description="before market open / after close; default: as published"
    )
    right: Literal["call", "put"] = "call"

    @field_validator("timing", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: dt.date | None = Field(default=None, description="first day; default end - 365 days")
    end: dt.date | None = Field(default=None, description="last day; default today")


class CalendarQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date | None = Field(default=None, description="day; default today (New York)")


# -- response models ----------------------------------------------------------------------


class MarketMeta(BaseModel):
    source: str = Field(description="yahoo, nasdaq, or demo (synthetic data)")
    asOf: str = Field(description="when the data was fetched (ISO 8601, UTC)")
    stale: bool = Field(description="true when served from cache past its freshness")


class TermPointOut(BaseModel):
    expiry: str
    dte: int
    iv: float


class ThresholdsOut(BaseModel):
    min_avg_volume: float
    min_iv30_rv30: float
    max_slope: float


class AnalysisOut(MarketMeta):
    """The earnings volatility screen; fractions throughout (iv30 0.42 == 42%)."""

    ticker: str
    price: float
    iv30: float | None
    rv30: float | None
    iv30_rv30: float | None
    slope: float | None
    avg_volume: float | None
    expected_move: float | None
    avg_volume_pass: bool
    iv30_rv30_pass: bool
    slope_pass: bool
    verdict: Literal["Recommended", "Consider", "Avoid"]
    term_structure: list[TermPointOut]
    rv_variant: str
    thresholds: ThresholdsOut
    quoteTime: str
    warnings: list[str]


class ContractOut(BaseModel):
    expiry: str
    strike: float
    right: Literal["call", "put"]
    bid: float
    ask: float
    mid: float | None
    last: float | None
    volume: int
    openInterest: int
    iv: float | None


class ChainOut(MarketMeta):
    ticker: str
    expiry: str
    expirations: list[str]
    calls: list[ContractOut]
    puts: list[ContractOut]


class LegOut(ContractOut):
    spreadPct: float | None
    zeroBid: bool
    liquidityScore: float


class CalendarSpreadOut(MarketMeta):
    ticker: str
    earningsDate: str
    timing: Literal["BMO", "AMC", "unknown"]
    earningsDateInferred: bool
    spot: float
    right: Literal["call", "put"]
    strike: float
    front: LegOut
    back: LegOut
    debitMid: float | None
    debitFill: float | None
    liquidityScore: float
    warnings: list[str]


class BarOut(BaseModel):
    date: str
    open: float
    high: float
    low: float
    close: float
    volume: int


class HistoryOut(MarketMeta):
    ticker: str
    start: str
    end: str
    bars: list[BarOut]


class EventOut(BaseModel):
    ticker: str
    date: str
    timing: Literal["BMO", "AMC", "unknown"]
    inferred: bool


class CalendarOut(MarketMeta):
    date: str
    count: int
    events: list[EventOut]


class MoveOut(BaseModel):
    date: str
    timing: Literal["BMO", "AMC", "unknown"]
    inferred: bool
    beforeDate: str | None
    afterDate: str | None
    beforeClose: float | None
    afterClose: float | None
    move: float | None
    reason: str | None


class MoveSummaryOut(BaseModel):
    count: int
    skipped: int
    mean: float | None
    median: float | None
    min: float | None
    max: float | None
    meanAbsMove: float | None
    upShare: float | None
    priceBasis: str


class EarningsHistoryOut(MarketMeta):
    ticker: str
    moves: list[MoveOut]
    summary: MoveSummaryOut
    upcoming: list[EventOut]

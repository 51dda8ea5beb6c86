"""Scans read market data through the app's ``MarketService`` (caches, failover,
breakers, rate limits), seen as a plain ``MarketData`` provider."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tradestats.config import Settings
from tradestats.market.service import MarketService, build_market_service
from tradestats.market.types import Bar, Chain, EarningsEvent, Quote


class ServiceMarketData:
    """``MarketData`` over a ``MarketService``: each read unwraps its ``Sourced`` value
    (the per-object ``source`` still says which provider answered)."""

    def __init__(self, service: MarketService) -> None:
        self.service = service
        self.source = service.providers[0].name

    @property
    def today(self) -> dt.date:
        return self.service.today()

    def quote(self, ticker: str) -> Quote:
        return self.service.quote(ticker).value

    def history(self, ticker: str, start: dt.date, end: dt.date) -> list[Bar]:
        return self.service.history(ticker, start, end).value

    def expirations(self, ticker: str) -> list[dt.date]:
        return self.service.expirations(ticker).value

    def chain(self, ticker: str, expiry: dt.date) -> Chain:
        return self.service.chain(ticker, expiry).value

    def earnings_calendar(self, day: dt.date) -> list[EarningsEvent]:
        return self.service.earnings_calendar(day).value

    def earnings_dates(self, ticker: str) -> list[EarningsEvent]:
        return self.service.earnings_dates(ticker).value


def service_market_data(settings: Settings, redis: Any | None = None) -> ServiceMarketData:
    """A ``MarketService`` for ``settings`` (sharing limits/breakers/cache through
    ``redis`` when given), as ``MarketData``."""
    return ServiceMarketData(build_market_service(settings, redis))

"""The per-app container of long-lived objects (settings, engine, Redis, API spec, market
data)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy.engine import Engine

from tradestats.api.openapi import ApiSpec
from tradestats.config import Settings
from tradestats.market.service import MarketService

ReadinessProvider = Callable[[], dict[str, list[dict[str, Any]]]]


@dataclass
class Services:
    settings: Settings
    engine: Engine
    redis: Any | None
    spec: ApiSpec
    market: MarketService
    started_monotonic: float = field(default_factory=time.monotonic)
    readiness_checks: list[ReadinessProvider] = field(default_factory=list)


def services_of(app: Flask) -> Services:
    svc: Services = app.extensions["tradestats"]
    return svc

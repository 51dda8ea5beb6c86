"""User settings of the dashboard: `GET /api/settings` and `PUT /api/settings`.

One JSON document in the ``app_settings`` key/value table (key ``user_settings``):

- ``timezone``: the IANA zone calendar days of the journal statistics are counted in;
  ``null`` means "the viewer's browser zone" (the page then sends its own zone);
- ``capital``: the starting capital drawdown and return percentages are taken over;
- ``thresholds``: the screener verdict's ``min_avg_volume``, ``min_iv30_rv30`` and
  ``max_slope``, used by ``/api/options/<T>/analysis`` and by scans when a request does
  not name its own.

The market-data provider is shown beside them read-only: it is server configuration
(``TRADESTATS_MARKET_DATA``), not a user setting. PUT replaces the whole document
(omitted fields take their defaults); invalid values are a 400 problem naming the field.

The analysis endpoint consults the thresholds on every request, so it reads them from a
per-process copy (`SettingsCache`): a PUT replaces the copy at once in the process that
served it, and other processes (gunicorn workers) re-read within `CACHE_SECONDS`. `GET
/api/settings` and starting a scan (rare, and the scan records its thresholds) read the
database.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Flask, Response, current_app
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.engine import Engine

from tradestats.api.openapi import ApiSpec, ResponseSpec
from tradestats.options.verdict import Thresholds
from tradestats.services import services_of
from tradestats.store import kv

SETTINGS_KEY = "user_settings"
EXTENSION_KEY = "tradestats.user_settings"
CACHE_SECONDS = 2.0
DEFAULT_CAPITAL = 10_000.0
_DEFAULT_THRESHOLDS = Thresholds()


class ThresholdsModel(BaseModel):
    """The verdict's three checks (see ``options.verdict.Thresholds``), within sane ranges."""

    model_config = ConfigDict(extra="forbid")

    min_avg_volume: float = Field(
        strict=True,  # a JSON number: not true/false, not a numeric string
        default=_DEFAULT_THRESHOLDS.min_avg_volume,
        ge=0,
        le=1e10,
        description="mean share volume of 30 sessions a ticker needs (the scan pre-filter too)",
    )
    min_iv30_rv30: float = Field(
        strict=True,  # a JSON number: not true/false, not a numeric string
        default=_DEFAULT_THRESHOLDS.min_iv30_rv30,
        gt=0,
        le=10,
        description="IV30 / RV30 a ticker needs",
    )
    max_slope: float = Field(
        strict=True,  # a JSON number: not true/false, not a numeric string
        default=_DEFAULT_THRESHOLDS.max_slope,
        ge=-0.1,
        le=0.1,
        description="highest term-structure slope (IV per calendar day, 0 to 45 days) that passes",
    )

    def to_thresholds(self) -> Thresholds:
        return Thresholds(self.min_avg_volume, self.min_iv30_rv30, self.max_slope)


class UserSettingsModel(BaseModel):
    """The editable settings (the PUT body)."""

    model_config = ConfigDict(extra="forbid")

    timezone: str | None = Field(
        default=None,
        max_length=64,
        description="IANA zone for calendar days of the statistics; null: the browser's zone",
    )
    capital: float = Field(
        strict=True,  # a JSON number: not true/false, not a numeric string
        default=DEFAULT_CAPITAL,
        gt=0,
        le=1e12,
        description="starting capital for equity and drawdown percentages",
    )
    thresholds: ThresholdsModel = Field(default_factory=ThresholdsModel)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if value == "":
            return None
        # ZoneInfo also opens paths like "../x"; only accept plain zone names.
        if value.startswith(("/", ".")) or ".." in value:
            raise ValueError("unknown time zone")
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return value


class UserSettingsOut(UserSettingsModel):
    """What GET and PUT answer: the settings, the server's read-only facts, the defaults."""

    model_config = ConfigDict(extra="ignore")

    marketData: str = Field(description="demo or yahoo; read-only (TRADESTATS_MARKET_DATA)")
    marketFallback: str = Field(description="none or demo; read-only")
    defaults: UserSettingsModel
    updatedAt: str | None = Field(description="when the settings were last saved; null: never")


@dataclass(frozen=True)
class StoredSettings:
    settings: UserSettingsModel
    updated_at: str | None


def load_settings(engine: Engine) -> StoredSettings:
    """The saved settings, or the defaults when none were saved. A stored document that no
    longer validates (e.g. a zone removed from the system's tz database) falls back to the
    defaults field by field, so one bad value cannot break every page."""
    raw = kv.get_value(engine, SETTINGS_KEY)
    if raw is None:
        return StoredSettings(UserSettingsModel(), None)
    try:
        doc = json.loads(raw)
    except ValueError:
        return StoredSettings(UserSettingsModel(), None)
    if not isinstance(doc, dict):
        return StoredSettings(UserSettingsModel(), None)
    updated = doc.pop("updatedAt", None)
    try:
        settings = UserSettingsModel.model_validate(doc)
    except ValidationError:
        good: dict[str, Any] = {}
        for name in UserSettingsModel.model_fields:
            if name not in doc:
                continue
            try:
                UserSettingsModel.model_validate({name: doc[name]})
            except ValidationError:
                continue
            good[name] = doc[name]
        settings = UserSettingsModel.model_validate(good)
    return StoredSettings(settings, updated if isinstance(updated, str) else None)


def save_settings(engine: Engine, settings: UserSettingsModel) -> StoredSettings:
    updated = datetime.now(UTC).isoformat(timespec="seconds")
    doc = {**settings.model_dump(mode="json"), "updatedAt": updated}
    kv.set_value(engine, SETTINGS_KEY, json.dumps(doc, sort_keys=True))
    return StoredSettings(settings, updated)


class SettingsCache:
    """The saved settings of one process, re-read at most every `ttl` seconds."""

    def __init__(
        self,
        engine: Engine,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._value: StoredSettings | None = None
        self._read_at = 0.0

    def get(self) -> StoredSettings:
        """The settings, from this process's copy while it is younger than `ttl`."""
        value = self._value
        if value is not None and self.clock() - self._read_at < self.ttl:
            return value
        return self.refresh()

    def refresh(self) -> StoredSettings:
        """The settings as stored now (and the copy renewed)."""
        now = self.clock()
        fresh = load_settings(self.engine)
        with self._lock:
            self._value, self._read_at = fresh, now
        return fresh

    def put(self, settings: UserSettingsModel) -> StoredSettings:
        stored = save_settings(self.engine, settings)
        with self._lock:
            self._value, self._read_at = stored, self.clock()
        return stored


def settings_cache(app: Flask) -> SettingsCache:
    """The app's settings cache, created on first use."""
    cache: SettingsCache | None = app.extensions.get(EXTENSION_KEY)
    if cache is None:
        cache = app.extensions.setdefault(EXTENSION_KEY, SettingsCache(services_of(app).engine))
    return cache


def saved_thresholds(app: Flask, *, fresh: bool = False) -> Thresholds:
    """The verdict thresholds the user saved (the reference defaults until then); `fresh`
    reads the database instead of this process's copy (for rare, recorded uses: scans)."""
    cache = settings_cache(app)
    stored = cache.refresh() if fresh else cache.get()
    return stored.settings.thresholds.to_thresholds()


def _document(app: Flask, stored: StoredSettings) -> Response:
    config = services_of(app).settings
    body = UserSettingsOut(
        **stored.settings.model_dump(),
        marketData=config.market_data,
        marketFallback=config.market_fallback,
        defaults=UserSettingsModel(),
        updatedAt=stored.updated_at,
    )
    resp = Response(body.model_dump_json(), mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def register(spec: ApiSpec) -> Blueprint:
    """A new blueprint per app (blueprints cannot gain routes once registered)."""
    bp = Blueprint("settings", __name__, url_prefix="/api")

    @spec.route(
        bp,
        "/settings",
        "GET",
        summary="The dashboard's saved settings, the read-only server facts and the defaults",
        tags=["settings"],
        responses={200: ResponseSpec("Settings", model=UserSettingsOut)},
    )
    def get_settings() -> Response:
        # Read through: a page load must see a save another worker process just made.
        return _document(current_app, settings_cache(current_app).refresh())

    @spec.route(
        bp,
        "/settings",
        "PUT",
        summary="Replace the saved settings (omitted fields take their defaults)",
        tags=["settings"],
        body=UserSettingsModel,
        responses={200: ResponseSpec("Settings as saved", model=UserSettingsOut)},
    )
    def put_settings(body: UserSettingsModel) -> Response:
        return _document(current_app, settings_cache(current_app).put(body))

    return bp

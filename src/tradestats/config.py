"""One `Settings` object, built from environment variables and CLI flags.

This module is the only place in the package that reads ``os.environ``. Every setting is
declared once in `FIELDS` (name, environment variable, type, default, help text); the CLI
derives its ``--options`` and their ``--help`` from the same table, so the two cannot
drift apart. Invalid values fail fast with a one-line `ConfigError` naming the setting.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A setting has an invalid value. The message names the setting and says why."""


def _default_data_dir(env: Mapping[str, str]) -> str:
    if sys.platform == "win32":
        base = env.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return str(Path(base) / "tradestats")
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "tradestats")


def _cpu_count() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True)
class Field:
    """Declaration of one setting: how it is named, parsed, documented and checked."""

    name: str
    env: str
    kind: str  # "str" | "int" | "float" | "bool" | "choice" | "list"
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    cli: bool = True


FIELDS: tuple[Field, ...] = (
    Field(
        "host", "TRADESTATS_HOST", "str", "Address to bind. A non-loopback address needs a token."
    ),
    Field("port", "TRADESTATS_PORT", "int", "TCP port to listen on.", minimum=1, maximum=65535),
    Field(
        "data_dir", "TRADESTATS_DATA_DIR", "str", "Directory for the SQLite file and runtime state."
    ),
    Field(
        "database_url",
        "DATABASE_URL",
        "str",
        "SQLAlchemy URL; default sqlite:///<data_dir>/tradestats.db. PostgreSQL: postgresql://...",
    ),
    Field(
        "redis_url", "REDIS_URL", "str", "Redis URL for shared cache, limits, breakers and jobs."
    ),
    Field(
        "market_data",
        "TRADESTATS_MARKET_DATA",
        "choice",
        "Market data provider.",
        choices=("demo", "yahoo"),
    ),
    Field(
        "market_fallback",
        "TRADESTATS_MARKET_FALLBACK",
        "choice",
        "Provider to fail over to when the market-data upstream is unavailable "
        "(none, or demo: synthetic data, labelled as demo).",
        choices=("none", "demo"),
    ),
    Field(
        "yahoo_url",
        "TRADESTATS_YAHOO_URL",
        "str",
        "Base URL of the Yahoo Finance API (quotes, bars, option chains).",
    ),
    Field(
        "yahoo_cookie_url",
        "TRADESTATS_YAHOO_COOKIE_URL",
        "str",
        "URL fetched (with the Yahoo session) to obtain Yahoo's cookie before asking "
        "<yahoo-url>/v1/test/getcrumb for the crumb its quote and option endpoints require.",
    ),
    Field(
        "nasdaq_url",
        "TRADESTATS_NASDAQ_URL",
        "str",
        "Base URL of Nasdaq's public API (earnings calendar).",
    ),
    Field(
        "upstream_rate",
        "TRADESTATS_UPSTREAM_RATE",
        "float",
        "Requests/s this dashboard sends to each market-data upstream (Yahoo, Nasdaq); "
        "global across processes when REDIS_URL is set.",
        minimum=0.01,
        maximum=1000,
    ),
    Field(
        "upstream_burst",
        "TRADESTATS_UPSTREAM_BURST",
        "int",
        "Requests each market-data upstream may receive at once above the rate "
        "(token-bucket size); keep it at or below the upstream's own burst.",
        minimum=1,
        maximum=1000,
    ),
    Field(
        "token",
        "TRADESTATS_TOKEN",
        "str",
        "Access token. Required to bind a non-loopback address; then every route but "
        "/api/health needs 'Authorization: Bearer <token>' or the login cookie.",
    ),
    Field(
        "log_level",
        "TRADESTATS_LOG_LEVEL",
        "choice",
        "Log level.",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
    ),
    Field(
        "log_format",
        "TRADESTATS_LOG_FORMAT",
        "choice",
        "Log format: one JSON object per line, or text.",
        choices=("json", "text"),
    ),
    Field(
        "server",
        "TRADESTATS_SERVER",
        "choice",
        "WSGI server; auto = gunicorn on Linux/macOS, waitress on Windows.",
        choices=("auto", "gunicorn", "waitress"),
    ),
    Field(
        "workers",
        "TRADESTATS_WORKERS",
        "int",
        "Worker processes (gunicorn).",
        minimum=1,
        maximum=64,
    ),
    Field("threads", "TRADESTATS_THREADS", "int", "Threads per worker.", minimum=1, maximum=256),
    Field(
        "timeout",
        "TRADESTATS_TIMEOUT",
        "int",
        "Seconds a worker may go without a heartbeat (its main loop stuck, e.g. a "
        "request holding the GIL) before it is killed and replaced; a request that is "
        "merely slow does not stop the heartbeat of a threaded worker. Must exceed "
        "--request-deadline.",
        minimum=1,
        maximum=3600,
    ),
    Field(
        "graceful_timeout",
        "TRADESTATS_GRACEFUL_TIMEOUT",
        "int",
        "Seconds to drain in-flight requests on SIGTERM/SIGINT.",
        minimum=1,
        maximum=3600,
    ),
    Field(
        "keepalive",
        "TRADESTATS_KEEPALIVE",
        "int",
        "Seconds to keep an idle connection open.",
        minimum=0,
        maximum=600,
    ),
    Field(
        "max_requests",
        "TRADESTATS_MAX_REQUESTS",
        "int",
        "Restart a worker after this many requests (0 = never).",
        minimum=0,
    ),
    Field(
        "max_requests_jitter",
        "TRADESTATS_MAX_REQUESTS_JITTER",
        "int",
        "Random extra requests added to --max-requests per worker.",
        minimum=0,
    ),
    Field(
        "request_deadline",
        "TRADESTATS_REQUEST_DEADLINE",
        "float",
        "Overall deadline in seconds for upstream work within one API request.",
        minimum=0.1,
        maximum=600,
    ),
    Field(
        "max_upload_mb",
        "TRADESTATS_MAX_UPLOAD_MB",
        "int",
        "Largest accepted upload (MB).",
        minimum=1,
        maximum=4096,
    ),
    Field(
        "max_json_kb",
        "TRADESTATS_MAX_JSON_KB",
        "int",
        "Largest accepted JSON body (KB).",
        minimum=1,
        maximum=65536,
    ),
    Field(
        "cors_origins",
        "TRADESTATS_CORS_ORIGINS",
        "list",
        "Comma-separated origins allowed by CORS; empty = no CORS.",
    ),
    Field(
        "trusted_proxies",
        "TRADESTATS_TRUSTED_PROXIES",
        "int",
        "Reverse proxies in front of the server whose X-Forwarded-For/-Proto/-Host are "
        "trusted (0 = none: the headers are ignored). Behind one TLS-terminating proxy, 1: "
        "the login cookie is then Secure and redirects keep https.",
        minimum=0,
        maximum=10,
    ),
    Field(
        "db_pool_size",
        "TRADESTATS_DB_POOL_SIZE",
        "int",
        "DB connections kept per process; default = threads.",
        minimum=1,
        maximum=512,
    ),
    Field(
        "db_pool_timeout",
        "TRADESTATS_DB_POOL_TIMEOUT",
        "float",
        "Seconds to wait for a pooled DB connection before failing.",
        minimum=0.1,
        maximum=600,
    ),
    Field(
        "db_connect_timeout",
        "TRADESTATS_DB_CONNECT_TIMEOUT",
        "int",
        "Seconds to wait when opening a DB connection.",
        minimum=1,
        maximum=600,
    ),
    Field("demo", "TRADESTATS_DEMO", "bool", "Seed and show demo data (labelled as demo)."),
    Field(
        "test_faults",
        "TRADESTATS_TEST_FAULTS",
        "bool",
        "TESTS ONLY: enable /api/_test/faults, which makes the server fail requests on "
        "purpose (api/faults.py). Never in production.",
    ),
)

_FIELD_BY_NAME = {f.name: f for f in FIELDS}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    """Validated configuration for one process. Build with `Settings.load`."""

    host: str = "127.0.0.1"
    port: int = 5000
    data_dir: str = ""
    database_url: str = ""
    redis_url: str | None = None
    market_data: str = "demo"
    market_fallback: str = "none"
    yahoo_url: str = "https://query1.finance.yahoo.com"
    yahoo_cookie_url: str = "https://fc.yahoo.com/"
    nasdaq_url: str = "https://api.nasdaq.com"
    upstream_rate: float = 5.0  # UpstreamPolicy.rate
    upstream_burst: int = 10  # UpstreamPolicy.burst
    token: str | None = None
    log_level: str = "INFO"
    log_format: str = "json"
    server: str = "auto"
    workers: int = field(default_factory=lambda: max(2, _cpu_count()))
    threads: int = 4
    timeout: int = 60
    graceful_timeout: int = 30
    keepalive: int = 5
    max_requests: int = 200000
    max_requests_jitter: int = 20000
    request_deadline: float = 20.0
    max_upload_mb: int = 50
    max_json_kb: int = 1024
    cors_origins: tuple[str, ...] = ()
    trusted_proxies: int = 0
    db_pool_size: int = 0
    db_pool_timeout: float = 5.0
    db_connect_timeout: int = 3
    demo: bool = False
    test_faults: bool = False

    @classmethod
    def load(
        cls,
        env: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Settings:
        """Settings from `env` (default: the process environment), then `overrides` (CLI flags).

        Overrides whose value is None are ignored, so unset CLI flags keep the env value.
        """
        environ: Mapping[str, str] = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in FIELDS:
            raw = environ.get(f.env)
            if raw is not None and (raw != "" or f.kind in ("str", "list")):
                values[f.name] = _parse(f, raw)
        for name, value in (overrides or {}).items():
            if value is None:
                continue
            declared = _FIELD_BY_NAME.get(name)
            if declared is None:
                raise ConfigError(f"unknown setting {name!r}")
            values[name] = _parse(declared, value) if isinstance(value, str) else value
        settings = cls(**values)
        if not settings.data_dir:
            settings = replace(settings, data_dir=_default_data_dir(environ))
        if not settings.database_url:
            db_file = Path(settings.data_dir) / "tradestats.db"
            settings = replace(settings, database_url=f"sqlite:///{db_file}")
        if settings.db_pool_size == 0:
            settings = replace(settings, db_pool_size=settings.threads)
        if settings.token == "":
            settings = replace(settings, token=None)
        if settings.redis_url == "":
            settings = replace(settings, redis_url=None)
        for name in ("yahoo_url", "yahoo_cookie_url", "nasdaq_url"):
            if getattr(settings, name) == "":
                settings = replace(settings, **{name: getattr(cls, name)})
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise `ConfigError` for the first setting that is out of range or inconsistent."""
        for f in FIELDS:
            value = getattr(self, f.name)
            if f.kind in ("int", "float") and isinstance(value, int | float):
                _check_range(f, value)
            if f.kind == "choice" and value not in f.choices:
                raise ConfigError(f"{f.env}: must be one of {', '.join(f.choices)}, got {value!r}")
        if self.timeout <= self.request_deadline:
            raise ConfigError(
                f"TRADESTATS_TIMEOUT: must be greater than TRADESTATS_REQUEST_DEADLINE "
                f"({self.request_deadline:g} s), got {self.timeout}"
            )
        if not self.database_url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ConfigError(
                "DATABASE_URL: must start with sqlite:// or postgresql://, "
                f"got {self.database_url.split(':', 1)[0]!r}"
            )
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("REDIS_URL: must start with redis://, rediss:// or unix://")
        for name in ("yahoo_url", "nasdaq_url"):
            url = getattr(self, name)
            if not url.startswith(("http://", "https://")) or "?" in url or "#" in url:
                raise ConfigError(
                    f"{_FIELD_BY_NAME[name].env}: must be an http:// or https:// base URL "
                    f"without query or fragment, got {url!r}"
                )
        cookie = urlsplit(self.yahoo_cookie_url)
        if (
            cookie.scheme not in ("http", "https")
            or not cookie.hostname
            or cookie.fragment
            or any(c.isspace() for c in self.yahoo_cookie_url)
        ):
            raise ConfigError(
                "TRADESTATS_YAHOO_COOKIE_URL: must be an http:// or https:// URL with a host "
                f"and no fragment, got {self.yahoo_cookie_url!r}"
            )
        if self.token is not None and len(self.token) < 16:
            raise ConfigError("TRADESTATS_TOKEN: must be at least 16 characters")
        for origin in self.cors_origins:
            if not origin.startswith(("http://", "https://")) or origin.endswith("/"):
                raise ConfigError(
                    f"TRADESTATS_CORS_ORIGINS: {origin!r} is not an origin like https://host:port"
                )

    def require_safe_bind(self) -> None:
        """Refuse a non-loopback bind without a token (the server must not start)."""
        if not is_loopback(self.host) and not self.token:
            raise ConfigError(
                f"TRADESTATS_HOST: binding {self.host} exposes the dashboard to the network; "
                "set TRADESTATS_TOKEN (16+ characters) to require authentication, "
                "or bind 127.0.0.1"
            )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def max_json_bytes(self) -> int:
        return self.max_json_kb * 1024

    @property
    def resolved_server(self) -> str:
        if self.server != "auto":
            return self.server
        return "waitress" if sys.platform == "win32" else "gunicorn"

    def public_dict(self) -> dict[str, Any]:
        """The settings with secrets masked, for logs and diagnostics."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if out.get("token"):
            out["token"] = "***"  # noqa: S105 - a mask, not a password
        out["database_url"] = _mask_url(self.database_url)
        if self.redis_url:
            out["redis_url"] = _mask_url(self.redis_url)
        return out


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _mask_url(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"


def _check_range(f: Field, value: float) -> None:
    if f.minimum is not None and value < f.minimum:
        raise ConfigError(f"{f.env}: must be >= {f.minimum:g}, got {value:g}")
    if f.maximum is not None and value > f.maximum:
        raise ConfigError(f"{f.env}: must be <= {f.maximum:g}, got {value:g}")


def _parse(f: Field, raw: str) -> Any:
    text = raw.strip()
    try:
        if f.kind == "int":
            return int(text)
        if f.kind == "float":
            return float(text)
    except ValueError:
        raise ConfigError(f"{f.env}: must be a number, got {raw!r}") from None
    if f.kind == "bool":
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"{f.env}: must be true or false, got {raw!r}")
    if f.kind == "choice":
        for choice in f.choices:
            if choice.lower() == text.lower():
                return choice
        raise ConfigError(f"{f.env}: must be one of {', '.join(f.choices)}, got {raw!r}")
    if f.kind == "list":
        return tuple(part.strip() for part in text.split(",") if part.strip())
    return text

"""The Flask application factory: wires blueprints, errors, metrics, logging, security."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from flask.sessions import NullSession, SessionInterface
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from tradestats.api import (
    client_errors,
    health,
    imports,
    options,
    pages,
    scans,
    strategies,
    trades,
)
from tradestats.api import settings as user_settings
from tradestats.api.health import LivenessResponder
from tradestats.api.middleware import ROUTE_KEY, RequestObservability
from tradestats.api.openapi import ApiSpec
from tradestats.api.problems import register_error_handlers
from tradestats.api.security import (
    SECURITY_HEADERS,
    check_auth,
    check_body_limits,
    cors_preflight,
)
from tradestats.config import Settings
from tradestats.market.service import MarketService, build_market_service
from tradestats.services import Services
from tradestats.store.engine import build_engine


def create_app(
    settings: Settings, *, engine: Engine | None = None, market: MarketService | None = None
) -> Flask:
    """Build the WSGI app for `settings`. No import-time side effects; no migrations here;
    no network calls (the market service connects on first use). ``market`` replaces the
    service built from `settings` (tests inject fake clocks and policies)."""
    app = Flask(__name__, static_folder="web", static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.session_interface = NoSessions()

    redis = _redis_client(settings)
    services = Services(
        settings=settings,
        engine=engine if engine is not None else build_engine(settings),
        redis=redis,
        spec=ApiSpec(),
        market=market if market is not None else build_market_service(settings, redis),
    )
    services.readiness_checks.append(services.market.readiness)
    app.extensions["tradestats"] = services

    _register_request_hooks(app, settings)
    register_error_handlers(app)
    app.register_blueprint(health.register(services))
    app.register_blueprint(client_errors.register(services.spec))
    app.register_blueprint(imports.register(services.spec))
    app.register_blueprint(trades.register(services.spec))
    app.register_blueprint(strategies.register(services.spec))
    app.register_blueprint(options.register(services.spec, settings.threads))
    app.register_blueprint(scans.register(services.spec))
    app.register_blueprint(user_settings.register(services.spec))
    app.register_blueprint(pages.bp)
    if settings.test_faults:  # tests only: makes the server fail on purpose
        from tradestats.api import faults

        faults.install(app, services)
    inner: Any = app.wsgi_app
    if settings.trusted_proxies:
        # werkzeug's ProxyFix: the last N X-Forwarded-* values become the client address,
        # scheme and host, so request.is_secure and redirects follow the browser's https.
        inner = ProxyFix(
            inner,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
        )
    app.wsgi_app = RequestObservability(  # type: ignore[method-assign]
        LivenessResponder(inner, services.started_monotonic), settings, SECURITY_HEADERS
    )
    return app


class NoSessions(SessionInterface):
    """The app keeps no Flask session (signing in sets its own cookie, api/security.py):
    every request gets the same read-only null session instead of a new one built and
    checked for saving, which was 2% of a worker's time on /api/info (py-spy)."""

    _null = NullSession()  # refuses every write, so one instance can be shared

    def open_session(self, app: Flask, request: Any) -> NullSession:
        return self._null

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        return None


def _redis_client(settings: Settings) -> Any | None:
    if not settings.redis_url:
        return None
    import redis

    return redis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=1.0,
        socket_timeout=1.0,
        health_check_interval=15,
        retry_on_timeout=False,
    )


def _register_request_hooks(app: Flask, settings: Settings) -> None:
    @app.before_request
    def _guard() -> Response | None:
        rule = request.url_rule
        if rule is not None:
            request.environ[ROUTE_KEY] = rule.rule
        return cors_preflight(settings) or check_body_limits(settings) or check_auth(settings)

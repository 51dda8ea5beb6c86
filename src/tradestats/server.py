"""Production serving: gunicorn ``gthread`` workers on POSIX, waitress on Windows.

Both drain in-flight requests on SIGTERM and SIGINT: the listening socket closes, every
request already received is answered, then the process exits 0. A second SIGINT during
the drain forces a quick exit (gunicorn). ``--dev`` is the only path to Flask's dev
server, always threaded, never reloading, and only on a loopback address.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from tradestats.api.closing import ClosingIterator
from tradestats.config import ConfigError, Settings, is_loopback
from tradestats.telemetry.logs import configure_logging

log = logging.getLogger("tradestats.server")

WsgiApp = Callable[..., Iterable[bytes]]


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def prepare_metrics_dir() -> str:
    """A fresh per-run multiprocess metrics directory, exported for the workers.

    Must run before anything imports ``tradestats.telemetry.metrics`` in this process.
    """
    path = tempfile.mkdtemp(prefix="tradestats-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def migrate(settings: Settings) -> None:
    """Apply Alembic migrations with a short-lived engine (disposed before workers fork)."""
    from tradestats.store.engine import build_engine
    from tradestats.store.kv import ensure_instance_id
    from tradestats.store.migrate import upgrade

    engine = build_engine(settings)
    try:
        upgrade(engine)
        ensure_instance_id(engine)
        if settings.demo:
            from tradestats.journal.demo import seed_demo

            report = seed_demo(engine)
            if report is not None:
                log.info("seeded the demo account", extra={"executions": report.imported})
    finally:
        engine.dispose()


def warm_caches(settings: Settings, *, before_fork: bool = False) -> None:
    """Compute what the first page load needs before serving: the whole-journal
    statistics (1M executions: ~8 s of CPU per worker, longer than the page's request
    timeout), the whole-journal strategy breakdown of the Performance view and the
    gzipped chart library (~0.3 s). Under gunicorn this runs in the master, so the
    workers forked after it inherit them. Never fatal: on failure the workers compute
    on demand, as before."""
    from tradestats.api.pages import warm_plotly_bundle
    from tradestats.journal.reports import warm_cache
    from tradestats.journal.strategy_reports import warm_cache as warm_strategies
    from tradestats.store.engine import build_engine

    started = time.perf_counter()
    warm_plotly_bundle()
    engine = build_engine(settings)
    try:
        try:
            warm_cache(engine)
        except Exception:
            log.warning("could not precompute the statistics", exc_info=True)
            return
        try:
            warm_strategies(engine)  # the Performance view's breakdown by strategy
        except Exception:
            log.warning("could not precompute the strategy statistics", exc_info=True)
    finally:
        engine.dispose()
    if before_fork:
        gc.freeze()  # the collector then never writes to these pages: they stay shared
    log.info("caches warmed", extra={"seconds": round(time.perf_counter() - started, 2)})


def serve(settings: Settings, *, dev: bool = False, debugger: bool = False) -> int:
    """Run the server until SIGTERM/SIGINT; returns the process exit code."""
    settings.require_safe_bind()
    configure_logging(settings.log_level, settings.log_format)
    if dev:
        return _serve_dev(settings, debugger=debugger)
    if settings.resolved_server == "gunicorn":
        return _serve_gunicorn(settings)
    return _serve_waitress(settings)


# --- Flask dev server -------------------------------------------------------------------


def _start_pool_gauge_sampler() -> None:
    # Imported here: this module must not pull in prometheus_client before the master
    # has set PROMETHEUS_MULTIPROC_DIR (see tests/unit/test_import_order.py).
    from tradestats.store.engine import start_pool_gauge_sampler

    start_pool_gauge_sampler()


def _serve_dev(settings: Settings, *, debugger: bool) -> int:
    if not is_loopback(settings.host):
        raise ConfigError(
            f"TRADESTATS_HOST: --dev serves only on a loopback address, not {settings.host}; "
            "use the production server (drop --dev) to serve the network"
        )
    from tradestats.app import create_app

    migrate(settings)
    warm_caches(settings)
    app = create_app(settings)
    _start_pool_gauge_sampler()
    log.info(
        "starting Flask dev server", extra={"bind": bind_address(settings.host, settings.port)}
    )
    # Debugger only on loopback (checked above) and only when asked for explicitly.
    app.run(
        host=settings.host,
        port=settings.port,
        debug=debugger,
        use_reloader=False,
        threaded=True,
    )
    return 0


# --- gunicorn ---------------------------------------------------------------------------


def _serve_gunicorn(settings: Settings) -> int:
    from gunicorn.app.base import BaseApplication
    from gunicorn.arbiter import Arbiter

    from tradestats import gunicorn_worker

    metrics_dir = prepare_metrics_dir()
    migrate(settings)
    warm_caches(settings, before_fork=True)

    class GracefulArbiter(Arbiter):  # type: ignore[misc]
        # gunicorn treats SIGINT as a quick shutdown; we drain on it like SIGTERM.
        # A second SIGINT while draining still forces a quick exit.
        def handle_int(self) -> None:
            raise StopIteration

    def on_starting(_server: Any) -> None:
        for entry in os.listdir(metrics_dir):
            os.unlink(os.path.join(metrics_dir, entry))

    def post_worker_init(worker: Any) -> None:
        # Ctrl+C reaches every process of the group: let workers drain on it too.
        signal.signal(signal.SIGINT, worker.handle_exit)
        configure_logging(settings.log_level, settings.log_format)
        from tradestats import gunicorn_tuning

        gunicorn_tuning.apply()
        gunicorn_tuning.close_listeners_when_stopping(worker)
        _start_pool_gauge_sampler()

    def child_exit(_server: Any, worker: Any) -> None:
        from tradestats.telemetry.metrics import mark_process_dead

        mark_process_dead(worker.pid)

    class TradestatsGunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": [bind_address(settings.host, settings.port)],
                "workers": settings.workers,
                "worker_class": gunicorn_worker.worker_class(),
                "threads": settings.threads,
                "timeout": settings.timeout,
                "graceful_timeout": settings.graceful_timeout,
                "keepalive": settings.keepalive,
                "max_requests": settings.max_requests,
                "max_requests_jitter": settings.max_requests_jitter,
                "backlog": 2048,
                "worker_connections": 1000,
                "preload_app": False,
                "accesslog": None,  # one JSON line per request comes from the app
                "errorlog": "-",
                "loglevel": settings.log_level.lower(),
                "proc_name": "tradestats",
                "on_starting": on_starting,
                "post_worker_init": post_worker_init,
                "child_exit": child_exit,
                "limit_request_line": 8190,
                # Forwarded headers are ProxyFix's job, for TRADESTATS_TRUSTED_PROXIES hops
                # only (app.py). gunicorn trusts none: by default it would let any client
                # on 127.0.0.1 claim https with X-Forwarded-Proto, or set SCRIPT_NAME with
                # a header. The allow-list is "*" only because the header sets it gates
                # are empty, so it grants nothing, and it spares the per-request parse of
                # the peer's address against the list (4% of a worker's time on
                # /api/health under wrk, py-spy). HTTP/2, the other user of the list,
                # stays off.
                "forwarded_allow_ips": "*",
                "secure_scheme_headers": {},
                "forwarder_headers": "",
            }
            if os.path.isdir("/dev/shm"):  # noqa: S108 - RAM-backed heartbeat files
                options["worker_tmp_dir"] = "/dev/shm"  # noqa: S108
            # gunicorn >= 26 opens a control socket at one fixed path per user; several
            # servers on one machine would fight over it, and we do not use gunicornc.
            if "control_socket_disable" in self.cfg.settings:
                options["control_socket_disable"] = True
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> WsgiApp:
            from tradestats.app import create_app

            return create_app(settings)

        def run(self) -> None:
            GracefulArbiter(self).run()

    log.info(
        "starting gunicorn",
        extra={
            "bind": bind_address(settings.host, settings.port),
            "workers": settings.workers,
            "threads": settings.threads,
        },
    )
    master_pid = os.getpid()
    try:
        TradestatsGunicorn().run()
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        # Workers are forked inside run() and leave it through this same frame when they
        # exit (max-requests recycling, timeouts): only the master may remove the
        # directory the surviving and future workers still write to.
        if os.getpid() == master_pid:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


# --- waitress ---------------------------------------------------------------------------


class InFlightCounter:
    """WSGI middleware counting requests until their response iterable is closed."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self.count = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self._lock:
            self.count += 1
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return ClosingIterator(result, self._done)

    def _done(self) -> None:
        with self._lock:
            self.count -= 1


def _serve_waitress(settings: Settings) -> int:
    from waitress import wasyncore
    from waitress.server import create_server

    from tradestats.app import create_app

    migrate(settings)
    warm_caches(settings)
    counted = InFlightCounter(create_app(settings))
    _start_pool_gauge_sampler()
    server = create_server(
        counted,
        host=settings.host,
        port=settings.port,
        threads=settings.threads,
        connection_limit=1000,
        backlog=2048,
        channel_timeout=max(settings.timeout, 30),
        cleanup_interval=10,
        ident="tradestats",
        clear_untrusted_proxy_headers=True,
    )
    stopping = threading.Event()
    deadline = [0.0]

    def drained() -> bool:
        if counted.count:
            return False
        channels = [c for c in server._map.values() if hasattr(c, "requests")]
        # c.request: a request still being received; c.requests: received, not answered.
        return all(
            c.request is None and not c.requests and not c.total_outbufs_len for c in channels
        )

    def close_when_drained() -> None:
        # Runs on the loop thread (via the trigger): only that thread may touch the map.
        if drained() or time.monotonic() >= deadline[0]:
            wasyncore.close_all(server._map)

    def stop_accepting() -> None:
        # Close only the listening socket; the trigger and open channels keep working.
        server.accepting = False
        wasyncore.dispatcher.close(server)

    def watcher() -> None:
        while server._map:
            server.trigger.pull_trigger(close_when_drained)
            time.sleep(0.05)

    def on_signal(signum: int, _frame: Any) -> None:
        if stopping.is_set():
            return
        stopping.set()
        log.info("draining in-flight requests", extra={"signal": signum})
        deadline[0] = time.monotonic() + settings.graceful_timeout
        # Sockets are closed on the loop thread, between two select() calls: closing one
        # here, inside an interrupted select(), makes its retry fail with EBADF.
        server.trigger.pull_trigger(stop_accepting)
        threading.Thread(target=watcher, name="drain-watcher", daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if hasattr(signal, "SIGBREAK"):  # Windows console Ctrl+Break
        signal.signal(signal.SIGBREAK, on_signal)

    log.info(
        "starting waitress",
        extra={"bind": bind_address(settings.host, settings.port), "threads": settings.threads},
    )
    print(f"Serving on http://{bind_address(settings.host, settings.port)}", file=sys.stderr)
    server.run()
    server.task_dispatcher.shutdown(cancel_pending=False, timeout=settings.graceful_timeout)
    log.info("stopped")
    return 0

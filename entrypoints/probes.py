"""The relay's and the worker's probes (`--health-port`, PRODUCT.md §8.7): `/health/live`,
`/health/ready` and `/metrics` on a small HTTP server with a thread of its own (the standard
library's), so that a stalled event loop or dead worker threads are reported, not hidden behind
a server that stalled with them. The answers are the API's: JSON `Health`, 503 naming what is
down; `/metrics` in the Prometheus text format."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec

from entrypoints.preflight import cannot_listen
from entrypoints.readiness import Health

logger = logging.getLogger("orderhub.probes")

#: How long `/health/ready` waits for the process's event loop to run the checks (each check
#: has `readiness.TIMEOUT`, and three run one after the other).
READY_WITHIN = 10.0
JSON = "application/json"
METRICS = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Probes:
    """What each route answers, asked afresh at each request (on the server's thread)."""

    live: Callable[[], Health]
    ready: Callable[[], Health]
    metrics: Callable[[], bytes]


class ProbeServer:
    """Bound at construction (a taken port fails the start at once, `StartFailure`); serves
    from `start` until `close`."""

    def __init__(self, host: str, port: int) -> None:
        try:
            self._server = _Server((host, port), _Handler)
        except OSError as e:
            raise cannot_listen(host, port, e, ("--health-host", "--health-port")) from None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self, probes: Probes) -> None:
        self._server.probes = probes
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="orderhub-probes", daemon=True
        )
        self._thread.start()
        logger.info("probes on port %d: /health/live, /health/ready, /metrics", self.port)

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()


def ready_on(
    loop: asyncio.AbstractEventLoop,
    check: Callable[[], Coroutine[Any, Any, Health]],
    within: float = READY_WITHIN,
) -> Callable[[], Health]:
    """`check` (`Readiness.check`) run on `loop`, where the process's connections live
    (asyncpg's belong to the loop that opened them); a loop that does not run it within
    `within` seconds is itself down."""

    def ready() -> Health:
        coroutine = check()
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        except RuntimeError:  # the loop is closed
            coroutine.close()
            return _down("event_loop", "unavailable: closed")
        try:
            return future.result(timeout=within)
        except FutureTimeout:
            future.cancel()
            return _down("event_loop", f"unavailable: no answer within {within:g} s")

    return ready


def _down(check: str, why: str) -> Health:
    return Health(status="unavailable", checks={check: why})


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a probe in flight never holds the process at exit
    probes: Probes


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        probes = self.server.probes
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._answer(200, METRICS, probes.metrics())
        elif path in ("/health/live", "/health/ready"):
            health = self._health(probes.live if path == "/health/live" else probes.ready)
            status = 200 if health.status == "ok" else 503
            self._answer(status, JSON, msgspec.json.encode(health))
        else:
            self._answer(404, JSON, b'{"status":"not found"}')

    def _health(self, probe: Callable[[], Health]) -> Health:
        try:
            return probe()
        except Exception as e:
            logger.exception("probe %s failed", self.path)
            return _down("probe", f"unavailable: {type(e).__name__}")

    def _answer(self, status: int, media_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Probes come every few seconds: not worth a log line each."""

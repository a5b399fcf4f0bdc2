"""Embedded delivery: with `BROKER_URL=memory://` (the embedded default) an in-process broker
reaches no other process, so `orderhub serve` runs the relay, the periodic jobs and a Dramatiq
worker itself, as the demo does. With Redis or RabbitMQ, `serve` is an API process only."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging

from dramatiq import Worker
from dramatiq.asyncio import get_event_loop_thread

from entrypoints.container import Container, build_container, dispose_engines
from entrypoints.relay_process import relay_with_jobs
from entrypoints.settings import Settings
from entrypoints.worker_process import start_worker

logger = logging.getLogger("orderhub.embedded")

#: Worker threads of an embedded serve: the deliveries of one small shop, beside the API.
THREADS = 4


def is_embedded(settings: Settings) -> bool:
    """Whether the broker is in-process, so that delivery must run in the API's process."""
    return settings.broker_url.startswith("memory://")


class EmbeddedDelivery:
    """The relay, jobs and worker of one API process, on a container of their own: they run on
    Dramatiq's event-loop thread, and a database engine belongs to one event loop."""

    def __init__(self, settings: Settings, threads: int = THREADS) -> None:
        self._settings = settings
        self._threads = threads
        self._container: Container | None = None
        self._worker: Worker | None = None
        self._stop: asyncio.Event | None = None
        self._running: concurrent.futures.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        container = self._container = build_container(self._settings)
        self._worker = start_worker(container, self._threads)
        thread = get_event_loop_thread()  # started by the worker's AsyncIO middleware
        assert thread is not None
        loop = self._loop = thread.loop
        stop = self._stop = asyncio.run_coroutine_threadsafe(_event(), loop).result()
        self._running = asyncio.run_coroutine_threadsafe(_relay(container, stop), loop)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop relaying, let in-flight deliveries finish (or go back to their queue)."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._running is not None:
            try:
                self._running.result(timeout=timeout)
            except (TimeoutError, concurrent.futures.CancelledError):
                self._running.cancel()
            except Exception:  # the relay's own failure, at the end of a long-running loop
                logger.exception("the embedded relay stopped with an error")
        if self._worker is not None:
            self._worker.stop(timeout=int(timeout * 1000))


async def _event() -> asyncio.Event:
    return asyncio.Event()


async def _relay(container: Container, stop: asyncio.Event) -> None:
    try:
        await relay_with_jobs(container, stop)
    finally:
        await dispose_engines(container)

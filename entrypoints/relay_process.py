"""`orderhub relay`: the outbox relay, and the hub's periodic jobs beside it."""

from __future__ import annotations

import asyncio
import signal

from adapters.sql.notify import outbox_notifications
from entrypoints.container import Container, dispose_engines
from entrypoints.jobs import run_jobs


async def run_relay(container: Container, stop: asyncio.Event | None = None) -> None:
    """Relay until SIGINT/SIGTERM (or `stop`)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await relay_with_jobs(container, stop)
    finally:
        await dispose_engines(container)


async def relay_with_jobs(container: Container, stop: asyncio.Event) -> None:
    """The relay (woken by the database's commit notifications where it has them) and the
    periodic jobs, until `stop`: what `orderhub relay` runs, and what an embedded `serve` and
    the demo run beside their workers."""
    wake = asyncio.Event()
    async with outbox_notifications(container.settings().database_url, wake):
        await asyncio.gather(container.relay().run(stop, wake), run_jobs(container, stop))

"""`orderhub relay`: the outbox relay, and the hub's periodic jobs beside it."""

from __future__ import annotations

import asyncio
import signal

from adapters.sql.notify import outbox_notifications
from entrypoints.container import Container, dispose_engines
from entrypoints.jobs import run_jobs
from entrypoints.liveness import Progress
from entrypoints.metrics import process_metrics
from entrypoints.probes import Probes, ProbeServer, ready_on
from entrypoints.readiness import Readiness


async def run_relay(
    container: Container, stop: asyncio.Event | None = None, probes: ProbeServer | None = None
) -> None:
    """Relay until SIGINT/SIGTERM (or `stop`), answering `probes` meanwhile if given."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if probes is not None:
        probes.start(relay_probes(container, loop))
    try:
        await relay_with_jobs(container, stop)
    finally:
        if probes is not None:
            probes.close()
        await dispose_engines(container)


def relay_probes(container: Container, loop: asyncio.AbstractEventLoop) -> Probes:
    """Live while the relay's loops keep passing; ready as the API is (database, schema,
    broker), checked on the relay's own loop."""
    relay = container.relay()
    return Probes(
        live=Progress("relay", lambda: relay.passes),
        ready=ready_on(loop, Readiness(container.read_engine(), container.broker()).check),
        metrics=process_metrics,
    )


async def relay_with_jobs(container: Container, stop: asyncio.Event) -> None:
    """The relay (woken by the database's commit notifications where it has them) and the
    periodic jobs, until `stop`: what `orderhub relay` runs, and what an embedded `serve` and
    the demo run beside their workers."""
    wake = asyncio.Event()
    async with outbox_notifications(container.settings().database_url, wake):
        await asyncio.gather(container.relay().run(stop, wake), run_jobs(container, stop))

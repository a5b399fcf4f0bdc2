"""The hub's periodic jobs: ERP catch-up, reservation expiry, idempotency-key purge, retention.

Each job is safe to run in several processes at once (idempotent operations), so every relay
process runs them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from application.process_managers.fulfilment import Fulfilment
from domain.commands import ExpireReservations
from entrypoints.container import Container
from entrypoints.http.inbound_events import command_of
from ports.unit_of_work import CommandMeta

logger = logging.getLogger("orderhub.jobs")

JOB = CommandMeta(actor="job", correlation_id="job")


def jobs(container: Container) -> list[tuple[str, float, Callable[[], Awaitable[object]]]]:
    """(name, interval in seconds, the job)."""
    bus = container.bus()
    fulfilment = container.consumers()["fulfilment"]
    assert isinstance(fulfilment, Fulfilment)
    gate = container.idempotency_gate()
    clock = container.clock()

    inbound = container.inbound()

    async def retry_deferred_inbound() -> object:
        return await inbound.retry_due(command_of)

    async def expire_reservations() -> object:
        return await bus.handle(ExpireReservations(), JOB)

    async def purge_idempotency_keys() -> object:
        return await gate.purge_expired(clock.now())

    retention = container.retention()

    async def retain() -> object:
        deleted = await retention.run()
        if any(deleted.values()):
            logger.info("retention deleted %s", ", ".join(f"{n} {k}" for k, n in deleted.items()))
        return deleted

    return [
        ("erp_catch_up", 2.0, fulfilment.book_waiting),
        ("retry_deferred_inbound", 1.0, retry_deferred_inbound),
        ("expire_reservations", 30.0, expire_reservations),
        ("purge_idempotency_keys", 3600.0, purge_idempotency_keys),
        ("retention", 600.0, retain),
    ]


async def run_jobs(container: Container, stop: asyncio.Event) -> None:
    await asyncio.gather(
        *(_every(name, interval, job, stop) for name, interval, job in jobs(container))
    )


async def _every(
    name: str, interval: float, job: Callable[[], Awaitable[object]], stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            await job()
        except Exception:
            logger.exception("job %s failed; it runs again in %.0f s", name, interval)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            continue

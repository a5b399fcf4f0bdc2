"""Retention (PRODUCT.md §8.7) on SQLite and PostgreSQL: what is older than the cutoff and done
with is deleted, in batches; what is still needed (a delivery to do, a dead letter not replayed,
anything recent) and the order data are kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import ColumnElement, func, insert, select

from adapters.sql.retention import SqlRetentionStore
from adapters.sql.schema import deliveries, inbox, orders, outbox
from application.retention import Retention, RetentionPolicy
from domain import commands as c
from ports.outbox import Message
from ports.retention import Kept
from read_models.projector import OrderProjection, rebuild
from read_models.queries import ReadModels
from tests.integration.backends import SqlBackend
from tests.integration.contracts.histories import event_id, place, project, relay

DAYS = 30
CUTOFF = timedelta(days=DAYS)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> SqlBackend:
    return SqlBackend(request.getfixturevalue(f"{request.param}_engine"))


async def published(backend: SqlBackend) -> list[Message]:
    """A placed order's two events, published to the ERP and the CRM."""
    await place(backend)
    return await relay(backend, ("erp", "crm"), backend.clock.now())


async def ids(backend: SqlBackend) -> list[UUID]:
    return [event_id(m) for m in await published(backend)]


async def remaining(backend: SqlBackend, column: ColumnElement[Any]) -> set[Any]:
    async with backend.engine.connect() as conn:
        return set((await conn.execute(select(column))).scalars())


async def test_what_is_old_and_done_goes_and_everything_else_stays(backend: SqlBackend) -> None:
    log, now = backend.delivery_log, backend.clock.now()
    await backend.stock("MUG", "dc-east", 100)
    await relay(backend, (), now)  # the stock event: published to no one
    done = [*await ids(backend), *await ids(backend)]
    to_do = await ids(backend)  # the CRM has not had these yet
    doomed = await published(backend)
    parked, replayed = (event_id(m) for m in doomed)
    for event in done:
        await log.finish(event, "crm", now)
    for event in [*done, *to_do, parked, replayed]:
        await log.finish(event, "erp", now)
    for message in doomed:  # the CRM's deliveries die; one is replayed and goes through
        await log.bury(message, "crm", 8, "permanent", "RemoteRejected: no", now)
    letters = {
        UUID(letter.message_id): letter for letter in await backend.dead_letters.page(9, None)
    }
    await backend.dead_letters.revive(letters[replayed], now, now + timedelta(seconds=30))
    await log.finish(replayed, "crm", now)
    async with backend.engine.begin() as conn:
        await conn.execute(insert(inbox), [
            {"consumer": "inbound:erp", "message_id": f"old-{i}", "processed_at": now}
            for i in range(5)
        ])  # fmt: skip
    backend.clock.advance(CUTOFF + timedelta(hours=1))
    recent = await ids(backend)
    for event in recent:
        await log.finish(event, "erp", backend.clock.now())
        await log.finish(event, "crm", backend.clock.now())
    async with backend.engine.begin() as conn:
        await conn.execute(insert(inbox).values(
            consumer="inbound:erp", message_id="new", processed_at=backend.clock.now()
        ))  # fmt: skip
    orders_before = await remaining(backend, orders.c.id)
    retention = Retention(
        SqlRetentionStore(backend.engine),
        backend.clock,
        RetentionPolicy(days=DAYS, batch=2, pause=timedelta(0)),
    )

    deleted = await retention.run()

    kept_events = {*to_do, parked, *recent}
    gone = set(done) | {replayed}
    stock_event = 1  # published before the cutoff to no consumer: nothing left to do
    assert deleted == {Kept.EVENTS: len(gone) + stock_event, Kept.INBOX: 5, Kept.DEAD_LETTERS: 1}
    assert await remaining(backend, outbox.c.event_id) == kept_events
    assert await remaining(backend, deliveries.c.event_id) == kept_events
    assert await remaining(backend, inbox.c.message_id) == {"new"}
    [kept_letter] = await backend.dead_letters.page(9, None)
    assert UUID(kept_letter.message_id) == parked  # not replayed: it awaits an operator
    assert await remaining(backend, orders.c.id) == orders_before
    assert await retention.run() == {Kept.EVENTS: 0, Kept.INBOX: 0, Kept.DEAD_LETTERS: 0}


async def test_a_run_deletes_at_most_its_batches(backend: SqlBackend) -> None:
    await backend.stock("MUG", "dc-east", 100)
    await relay(backend, (), backend.clock.now())
    for _ in range(3):
        await published(backend)  # no delivery finished: only the stock event may go
    async with backend.engine.begin() as conn:
        await conn.execute(insert(inbox), [
            {"consumer": "c", "message_id": str(i), "processed_at": backend.clock.now()}
            for i in range(7)
        ])  # fmt: skip
    backend.clock.advance(CUTOFF * 2)
    retention = Retention(
        SqlRetentionStore(backend.engine),
        backend.clock,
        RetentionPolicy(days=DAYS, batch=2, most_batches=3, pause=timedelta(0)),
    )

    first, second = await retention.run(), await retention.run()

    assert (first[Kept.INBOX], second[Kept.INBOX]) == (6, 1)
    assert first[Kept.EVENTS] == 1
    async with backend.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(outbox))).scalar() == 6


async def test_an_order_whose_events_are_deleted_keeps_its_view_timeline_and_rebuild(
    backend: SqlBackend,
) -> None:
    await backend.stock("MUG", "dc-east", 100)
    await relay(backend, (), backend.clock.now())
    old_order = await place(backend)
    await backend.run(c.HoldOrder(order_id=old_order, reason="address check"))
    for message in await relay(backend, ("projection",), backend.clock.now()):
        await backend.delivery_log.finish(event_id(message), "projection", backend.clock.now())
    await project(backend, old_order)
    backend.clock.advance(CUTOFF * 2)
    new_order = await place(backend)
    await relay(backend, ("projection",), backend.clock.now())
    await project(backend, new_order)
    projection = OrderProjection(backend.view_store, backend.clock)
    read_models = ReadModels(backend.view_reader, projection)
    before = await read_models.order(old_order), await read_models.timeline(old_order, 50, None)

    await Retention(
        SqlRetentionStore(backend.engine), backend.clock, RetentionPolicy(days=DAYS)
    ).run()

    assert old_order not in {UUID(r.aggregate_id) for r in await backend.outbox()}
    assert (
        await read_models.order(old_order),
        await read_models.timeline(old_order, 50, None),
    ) == before
    assert await rebuild(backend.view_store) == 1  # the new order; the old one keeps its view
    assert (
        await read_models.order(old_order),
        await read_models.timeline(old_order, 50, None),
    ) == before
    assert (await read_models.order(new_order)) is not None

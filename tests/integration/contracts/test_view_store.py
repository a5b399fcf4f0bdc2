"""The `ViewStore` contract, through the real projector: views folded and saved, refused from a
stale version, rebuilt from the outbox, on the in-memory store, SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

import pytest

from adapters.message_codec import MsgspecCodec
from domain import commands as c
from ports.unit_of_work import ConcurrencyConflict
from ports.views import Standing
from read_models.projector import OrderProjection, apply, entries_of, rebuild
from tests.integration.backends import Backend
from tests.integration.contracts.histories import (
    attempt,
    delivered,
    event_id,
    events_of,
    five_orders,
    place,
    project,
    receive_return,
    relay,
    request_return,
    six_events,
)
from tests.integration.contracts.readings import (
    as_json,
    everything_read,
    folded,
    read_models,
    timeline_of,
)

TIMEOUT = timedelta(seconds=30)


class ProjectorDied(Exception):
    """Raised inside an update's or a rebuild's block, as a projector dies halfway."""


async def catch_up(
    backend: Backend,
    order_id: UUID,
    previous: Callable[[int], int] = lambda version: version,
    *,
    then_die: bool = False,
) -> None:
    """What the projector does, by hand: apply the events after the view's version and save the
    view as moved on from `previous(version)`; then, if `then_die`, die before the block ends."""
    async with backend.view_store.updating(order_id) as update:
        view = await update.view()
        version = view.version if view else 0
        missed = await update.events_after(version)
        await update.save(
            previous(version), apply(view, missed), entries_of(missed),
            [event_id(m) for m in missed], backend.clock.now(),
        )  # fmt: skip
        if then_die:
            raise ProjectorDied


async def rebuild_one_event_then_die(backend: Backend) -> None:
    async with backend.view_store.rebuilding() as rebuilding:
        events = [m async for m in rebuilding.order_events(100)]
        await rebuilding.save(apply(None, events[:1]), entries_of(events[:1]))
        raise ProjectorDied


async def test_a_projected_order_reads_back_as_the_fold_of_its_events(backend: Backend) -> None:
    order_id = await six_events(backend)

    await project(backend, order_id)

    standing, view = await backend.view_reader.order(order_id)
    assert standing == Standing(latest=6, version=6, channel="web")
    assert standing.current
    assert as_json(view) == await folded(backend, order_id)
    assert view is not None
    assert (view.document["status"], view.document["erp_order_ref"]) == ("booked", "ERP-1")
    assert as_json(await read_models(backend).order(order_id)) == as_json(view)


async def test_the_view_store_gives_the_events_after_a_version_in_stream_order(
    backend: Backend,
) -> None:
    order_id = await six_events(backend)
    written = await events_of(backend, order_id)

    async with backend.view_store.updating(order_id) as update:
        assert await update.view() is None
        after = await update.events_after(2)

    assert [event_id(m) for m in after] == [e.event_id for e in written[2:]]
    codec = MsgspecCodec()
    assert [codec.decode(m) for m in after] == written[2:]


async def test_saving_from_a_stale_version_is_refused_and_saves_nothing(backend: Backend) -> None:
    await backend.stock("MUG", "dc-east", 10)
    order_id = await place(backend)
    await project(backend, order_id)
    before = as_json((await backend.view_reader.order(order_id))[1])
    await backend.run(c.HoldOrder(order_id=order_id, reason="address check"))

    with pytest.raises(ConcurrencyConflict):
        await catch_up(backend, order_id, previous=lambda version: version - 1)

    standing, view = await backend.view_reader.order(order_id)
    assert (standing.latest, standing.version) == (3, 2)
    assert as_json(view) == before
    _, entries = await backend.view_reader.timeline(order_id, 0, 10, even_if_behind=True)
    assert [e.aggregate_version for e in entries or []] == [1, 2]


async def test_saving_a_new_view_where_one_exists_is_refused(backend: Backend) -> None:
    await backend.stock("MUG", "dc-east", 10)
    order_id = await place(backend)
    await project(backend, order_id)
    await backend.run(c.HoldOrder(order_id=order_id, reason="address check"))

    with pytest.raises(ConcurrencyConflict):
        await catch_up(backend, order_id, previous=lambda version: 0)

    standing, _ = await backend.view_reader.order(order_id)
    assert (standing.latest, standing.version) == (3, 2)


async def test_an_update_whose_block_raises_leaves_the_view_and_its_returns_as_they_were(
    backend: Backend,
) -> None:
    await backend.stock("MUG", "dc-east", 10)
    order_id = await delivered(backend)
    backend.clock.advance(timedelta(days=1))
    return_id = await request_return(backend, order_id)
    await project(backend, order_id)
    before = as_json((await backend.view_reader.order(order_id))[1])  # a snapshot, not the view
    await receive_return(backend, return_id)
    messages = await relay(backend, ["projection"], backend.clock.now() + TIMEOUT)

    with pytest.raises(ProjectorDied):
        await catch_up(backend, order_id, then_die=True)

    standing, view = await backend.view_reader.order(order_id)
    assert not standing.current
    assert as_json(view) == before
    assert view is not None
    assert view.returns[str(return_id)]["status"] == "authorized"
    received = [event_id(m) for m in messages if m["event_type"] == "ReturnReceived"]
    assert not (await attempt(backend, received[0], "projection")).finished


async def test_a_catch_up_finishes_the_projections_deliveries_of_the_events_it_applied(
    backend: Backend,
) -> None:
    await backend.stock("MUG", "dc-east", 10)
    order_id = await place(backend)
    await backend.run(c.HoldOrder(order_id=order_id, reason="address check"))
    messages = await relay(backend, ["projection", "erp"], backend.clock.now() + TIMEOUT)
    snapshot, placed, reserved, held = (event_id(m) for m in messages)

    await OrderProjection(backend.view_store, backend.clock).catch_up(order_id, 1)

    for applied in (placed, reserved, held):
        assert (await attempt(backend, applied, "projection")).finished
        assert not (await attempt(backend, applied, "erp")).finished
    assert not (await attempt(backend, snapshot, "projection")).finished


async def test_a_rebuild_gives_the_views_and_timelines_of_live_projection(
    backend: Backend,
) -> None:
    orders = await five_orders(backend)
    returned = await delivered(backend)
    backend.clock.advance(timedelta(days=1))
    await request_return(backend, returned)
    orders.append(returned)
    await project(backend, returned)
    live = await everything_read(backend, orders)
    assert all(Standing(**v[0]).current for v in live["views"].values())

    assert await rebuild(backend.view_store) == len(orders)
    assert await everything_read(backend, orders) == live
    assert await rebuild(backend.view_store, page_size=3) == len(orders)  # streams split
    assert await everything_read(backend, orders) == live
    for o in orders:
        assert live["views"][str(o)][1] == await folded(backend, o)
        assert live["timelines"][str(o)][1] == await timeline_of(backend, o)


@pytest.mark.parametrize("page_size", [1, 2, 100])
async def test_a_rebuild_reads_every_order_event_by_order_then_version(
    backend: Backend, page_size: int
) -> None:
    orders = await five_orders(backend)
    written = [e for e in await backend.envelopes() if e.aggregate_type == "order"]

    async with backend.view_store.rebuilding() as rebuilding:
        read = [m async for m in rebuilding.order_events(page_size)]

    assert [(m["aggregate_id"], m["aggregate_version"]) for m in read] == sorted(
        (e.aggregate_id, e.aggregate_version) for e in written
    )
    codec = MsgspecCodec()
    assert sorted((codec.decode(m) for m in read), key=lambda e: e.event_id.int) == sorted(
        written, key=lambda e: e.event_id.int
    )
    assert {UUID(m["aggregate_id"]) for m in read} == set(orders)


async def test_a_rebuild_that_fails_leaves_the_views_as_they_were(backend: Backend) -> None:
    orders = await five_orders(backend)
    before = await everything_read(backend, orders)

    with pytest.raises(ProjectorDied):
        await rebuild_one_event_then_die(backend)

    assert await everything_read(backend, orders) == before

"""The projection (`read_models.projector.OrderProjection`) on the in-memory views: whatever order
an order's events are delivered in, however often, the view and the timeline end up as a rebuild
from the outbox makes them; a gap is retried, not skipped; a read of an order sees every event
committed so far."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from application.consumers import NotYet
from domain import commands as c
from domain.integration_trouble import Trouble, TroubleKind
from domain.returns import ReturnLineSpec
from outbox.delivery import Outcome
from read_models.projector import PROJECTION, rebuild
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.unit.outbox.pipeline import Pipeline, build_pipeline


def ship(order_id: UUID, pipeline: Pipeline) -> c.RecordShipment:
    return c.RecordShipment(
        order_id=order_id, shipment_id="S1", location="dc-east", carrier="DHL",
        tracking_number="T-1", lines=(c.SkuCount(sku="MUG", quantity=2),),
        dispatched_at=pipeline.now,
    )  # fmt: skip


SHOP_AWAY = Trouble(
    kind=TroubleKind.FAILING, remote="commerce", consumer="fulfilment", event_type="OrderBooked",
    attempts=1, error="RemoteUnavailable: commerce platform is down",
)  # fmt: skip

#: After the order is placed and reserved: its life, one command at a time.
JOURNEY: list[Callable[[UUID, Pipeline], c.Command]] = [
    lambda o, p: c.HoldOrder(order_id=o, reason="address check"),
    lambda o, p: c.ResumeOrder(order_id=o),
    lambda o, p: c.LinkCase(order_id=o, case_id="500A00000000000"),
    lambda o, p: c.BookOrder(order_id=o, erp_order_ref="SO-7"),
    lambda o, p: c.RecordIntegrationTrouble(order_id=o, trouble=SHOP_AWAY),
    ship,
    lambda o, p: c.CapturePayment(order_id=o),
    lambda o, p: c.RecordDelivery(order_id=o, shipment_id="S1", delivered_at=p.now),
    lambda o, p: c.RequestReturn(
        order_id=o, lines=(ReturnLineSpec(sku="MUG", quantity=1, reason="chipped"),)
    ),
]


async def place(pipeline: Pipeline) -> UUID:
    await pipeline.hub.stock("MUG", "dc-east", 10)
    order_id: UUID = await pipeline.run(
        PlaceOrderFactory(
            lines=(LineSpecFactory(sku="MUG", quantity=2, unit_price=Decimal("12.50")),),
        )
    )
    return order_id


async def project_on_schedule(schedule: list[int | None]) -> None:
    """Run the journey, delivering to the projection, between its commands, the messages the
    schedule picks (`None`: the next command; `k`: the k-th message committed so far, modulo
    their number); then every message once more, newest first. Compare with a rebuild."""
    pipeline = build_pipeline()
    order_id = await place(pipeline)
    commands = iter(JOURNEY)
    for step in schedule:
        if step is None:
            if (command := next(commands, None)) is not None:
                await pipeline.run(command(order_id, pipeline))
                pipeline.advance(timedelta(hours=1))
        else:
            messages = pipeline.messages(order_id)
            message = messages[step % len(messages)]
            assert (await pipeline.deliver(PROJECTION, message)).outcome is Outcome.DONE
    for command in commands:
        await pipeline.run(command(order_id, pipeline))
    for message in reversed(pipeline.messages(order_id)):
        assert (await pipeline.deliver(PROJECTION, message)).outcome is Outcome.DONE
    live_view = pipeline.store.views[order_id]
    live_timeline = list(pipeline.store.timelines[order_id])

    assert await rebuild(pipeline.views) == 1

    assert live_view == pipeline.store.views[order_id]
    assert live_timeline == pipeline.store.timelines[order_id]
    assert live_view.version == len(pipeline.messages(order_id))
    assert [e.aggregate_version for e in live_timeline] == sorted(
        {e.aggregate_version for e in live_timeline}
    )  # each event's entry once, in stream order


@settings(max_examples=60, deadline=None)
@given(schedule=st.lists(st.none() | st.integers(min_value=0, max_value=40), max_size=30))
def test_events_delivered_in_any_order_with_duplicates_project_what_a_rebuild_does(
    schedule: list[int | None],
) -> None:
    asyncio.run(project_on_schedule(schedule))


@pytest.fixture
def pipeline() -> Pipeline:
    return build_pipeline()


async def test_a_duplicate_changes_neither_the_view_nor_the_timeline(pipeline: Pipeline) -> None:
    order_id = await place(pipeline)
    placed, reserved = pipeline.messages(order_id)
    assert (await pipeline.deliver(PROJECTION, reserved)).outcome is Outcome.DONE
    view, timeline = pipeline.store.views[order_id], list(pipeline.store.timelines[order_id])

    for message in (placed, reserved, reserved):
        assert (await pipeline.deliver(PROJECTION, message)).outcome is Outcome.DONE

    assert pipeline.store.views[order_id] == view
    assert pipeline.store.timelines[order_id] == timeline


async def test_an_event_whose_predecessor_is_not_visible_yet_is_retried_until_it_is(
    pipeline: Pipeline,
) -> None:
    order_id = await place(pipeline)
    await pipeline.run(c.HoldOrder(order_id=order_id, reason="address check"))
    await pipeline.relay_until_quiet()
    _, reserved, held = pipeline.messages(order_id)
    # The reservation is not visible to the projector yet (as if its transaction had not
    # committed where the projector reads): the outbox shows versions 1 and 3.
    reservation = pipeline.store.envelope(UUID(reserved["event_id"]))
    assert reservation is not None
    hidden = pipeline.store.outbox.index(reservation)
    pipeline.store.outbox.remove(reservation)

    with pytest.raises(NotYet):
        await pipeline.projection.catch_up(order_id, 3)
    retried = await pipeline.deliver(PROJECTION, held)

    assert retried.outcome is Outcome.RETRY
    assert order_id not in pipeline.store.views  # nothing applied past the gap, nor before it
    assert (pipeline.record(held, PROJECTION).last_error or "").startswith("NotYet: ")

    pipeline.store.outbox.insert(hidden, reservation)
    pipeline.advance(timedelta(milliseconds=retried.delay_ms))
    assert (await pipeline.deliver(PROJECTION, held)).outcome is Outcome.DONE
    assert pipeline.store.views[order_id].version == 3
    assert [e.aggregate_version for e in pipeline.store.timelines[order_id]] == sorted(
        e.aggregate_version for e in pipeline.store.timelines[order_id]
    )


async def test_a_catch_up_finishes_the_projection_deliveries_of_every_event_it_applied(
    pipeline: Pipeline,
) -> None:
    order_id = await place(pipeline)
    await pipeline.run(c.HoldOrder(order_id=order_id, reason="address check"))
    await pipeline.relay_until_quiet()
    placed, reserved, held = pipeline.messages(order_id)

    assert (await pipeline.deliver(PROJECTION, placed)).outcome is Outcome.DONE

    for message in (placed, reserved, held):
        assert pipeline.record(message, PROJECTION).processed_at == pipeline.now
    assert (await pipeline.deliver(PROJECTION, held)).outcome is Outcome.DUPLICATE


async def test_reading_an_order_catches_its_stale_view_up(pipeline: Pipeline) -> None:
    order_id = await place(pipeline)

    view = await pipeline.read_models.order(order_id)  # nothing delivered to the projection yet

    assert view is not None
    assert (view.version, view.document["status"]) == (2, "reserved")
    assert pipeline.store.views[order_id] == view  # kept, not only returned

    await pipeline.run(c.HoldOrder(order_id=order_id, reason="address check"))
    assert pipeline.store.views[order_id].version == 2  # stale until read
    view = await pipeline.read_models.order(order_id)
    assert view is not None
    assert (view.version, view.document["status"]) == (3, "on_hold")
    assert await pipeline.read_models.order(uuid4()) is None


async def test_reading_an_order_timeline_catches_it_up(pipeline: Pipeline) -> None:
    order_id = await place(pipeline)
    await pipeline.run(c.HoldOrder(order_id=order_id, reason="address check"))

    timeline = await pipeline.read_models.timeline(order_id, limit=50, cursor=None)

    assert timeline is not None
    assert len(timeline.page.items) == len(pipeline.store.timelines[order_id]) > 0
    assert pipeline.store.views[order_id].version == 3
    assert await pipeline.read_models.timeline(uuid4(), limit=50, cursor=None) is None

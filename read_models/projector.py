"""Projecting order events into the order view and the timeline, live and from scratch.

Live, an event is delivered to the `projection` consumer at least once and in any order. The
projector never applies an aggregate's events out of order: whatever event arrives, it catches
the view up from the outbox (the store of every event) to the newest event committed, at least to
that event's version, in one transaction, and ignores anything at or below the version it
already has.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from uuid import UUID

from application.consumers import NotYet
from domain.events import EVENT_TYPES, OrderEvent
from ports.clock import Clock
from ports.outbox import EventEnvelope, Message
from ports.views import Document, OrderView, TimelineEntry, ViewStore
from read_models.order_view import fold
from read_models.return_view import fold_returns
from read_models.timeline import entry

ORDER_EVENTS = frozenset(name for name, cls in EVENT_TYPES.items() if issubclass(cls, OrderEvent))
PROJECTION = "projection"  #: the consumer's name


class OrderProjection:
    """The consumer that keeps the order views and the timelines (`ViewStore`)."""

    name = PROJECTION
    subscribes = ORDER_EVENTS
    in_order = False  # it catches up from the outbox itself...
    catches_up = True  # ...so the newest event of an order in a relay batch is enough

    def __init__(self, views: ViewStore, clock: Clock) -> None:
        self._views = views
        self._clock = clock

    async def handle(self, envelope: EventEnvelope) -> None:
        await self.catch_up(UUID(envelope.aggregate_id), envelope.aggregate_version)

    async def catch_up(self, order_id: UUID, version: int) -> None:
        """Bring the order's view up to `version` at least (to everything committed), from the
        outbox. Raises `NotYet` while an event up to `version` is not visible, and
        `ConcurrencyConflict` when another projector moved the view on meanwhile."""
        async with self._views.updating(order_id) as update:
            view = await update.view()
            current = view.version if view else 0
            if version <= current:
                return  # applied already: a duplicate or a late copy
            # Everything committed after the view, not only up to this event: the deliveries of
            # the order's later events (often written in the same command) then find nothing to
            # do. An order's versions commit in order, so what is visible has no gap.
            missed = await update.events_after(current)
            contiguous = all(
                m["aggregate_version"] == current + 1 + i for i, m in enumerate(missed)
            )
            if len(missed) < version - current or not contiguous:
                raise NotYet(f"order {order_id}: events {current + 1}..{version} not all visible")
            moved = apply(view, missed)
            applied = [UUID(m["event_id"]) for m in missed]
            await update.save(current, moved, entries_of(missed), applied, self._clock.now())


async def rebuild(views: ViewStore, page_size: int = 5000) -> int:
    """Recreate the order view and timeline of every order whose whole stream the outbox holds;
    returns how many orders. An order whose earlier events retention deleted (PRODUCT.md §8.7)
    keeps the view and timeline it has: they hold everything deleted. Events are read
    `page_size` at a time and entries written as each order is done, so memory stays flat
    however long the history."""
    orders = 0
    async with views.rebuilding() as rebuilding:
        stream: list[Message] = []

        async def save() -> int:
            if stream[0]["aggregate_version"] != 1:
                return 0
            await rebuilding.save(apply(None, stream), entries_of(stream))
            return 1

        async for message in rebuilding.order_events(page_size):
            if stream and message["aggregate_id"] != stream[0]["aggregate_id"]:
                orders += await save()
                stream = []
            stream.append(message)
        if stream:
            orders += await save()
    return orders


def apply(view: OrderView | None, messages: Sequence[Message]) -> OrderView:
    """The view after `messages`, the order's next events in stream order."""
    document: Document | None = view.document if view else None
    # `fold_returns` changes the documents in place: not the ones of the view it was given.
    returns: dict[str, Document] = copy.deepcopy(view.returns) if view else {}
    for message in messages:
        document = fold(document, message)
        fold_returns(returns, message)
    assert document is not None, "an order's stream starts with OrderPlaced"
    return OrderView(document["version"], document["channel"], document, returns)


def entries_of(messages: Sequence[Message]) -> list[TimelineEntry]:
    """The timeline entries of these events of one order (some events have none)."""
    entries = []
    for message in messages:
        found = entry(message)
        if found is not None:
            entries.append(
                TimelineEntry(
                    order_id=UUID(message["aggregate_id"]),
                    aggregate_version=message["aggregate_version"],
                    event_id=UUID(message["event_id"]),
                    at=found.at,
                    source=found.source,
                    kind=found.kind,
                    title=found.title,
                    detail=found.detail,
                    correlation_id=message["correlation_id"],
                )
            )
    return entries

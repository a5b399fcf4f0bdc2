"""The read models on the in-memory store: the projector's side and the queries' side, with the
SQL ones' rules (one catch-up at a time per order, a view moved on only from the version read).

Views and entries go in and come out as copies, as a database's rows do: what a caller does to a
document it read or saved (a fold, a controller) never changes the stored view, and a catch-up
that fails leaves it as it was."""

from __future__ import annotations

import asyncio
import copy
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from adapters.memory.store import InMemoryStore
from ports.outbox import Message, MessageCodec
from ports.unit_of_work import ConcurrencyConflict
from ports.views import Listed, OrderFilter, OrderView, Standing, TimelineEntry

PROJECTION = "projection"


def _order_events(store: InMemoryStore, codec: MessageCodec, order_id: str) -> list[Message]:
    return [
        codec.encode(e)
        for e in sorted(store.outbox, key=lambda e: e.aggregate_version)
        if e.aggregate_type == "order" and e.aggregate_id == order_id
    ]


class _Update:
    def __init__(self, store: InMemoryStore, codec: MessageCodec, order_id: UUID) -> None:
        self._store = store
        self._codec = codec
        self._order_id = order_id
        self.saved: tuple[OrderView, Sequence[TimelineEntry], Sequence[UUID], datetime] | None = (
            None
        )

    async def view(self) -> OrderView | None:
        return copy.deepcopy(self._store.views.get(self._order_id))

    async def events_after(self, version: int) -> list[Message]:
        return [
            m
            for m in _order_events(self._store, self._codec, str(self._order_id))
            if m["aggregate_version"] > version
        ]

    async def save(
        self,
        previous: int,
        view: OrderView,
        entries: Sequence[TimelineEntry],
        applied: Sequence[UUID],
        now: datetime,
    ) -> None:
        stored = self._store.views.get(self._order_id)
        if (stored.version if stored else 0) != previous:
            raise ConcurrencyConflict(f"order view {self._order_id} moved on meanwhile")
        self.saved = (copy.deepcopy(view), copy.deepcopy(entries), applied, now)

    def commit(self) -> None:
        if self.saved is None:
            return
        view, entries, applied, now = self.saved
        self._store.views[self._order_id] = view
        self._store.timelines.setdefault(self._order_id, []).extend(entries)
        for event_id in applied:
            record = self._store.deliveries.get((event_id, PROJECTION))
            if record is not None and record.dead_at is None:
                record.processed_at = record.processed_at or now


class _Rebuild:
    def __init__(self, store: InMemoryStore, codec: MessageCodec) -> None:
        self._store = store
        self._codec = codec

    async def order_events(self, page_size: int) -> AsyncIterator[Message]:
        ordered = sorted(
            (e for e in self._store.outbox if e.aggregate_type == "order"),
            key=lambda e: (e.aggregate_id, e.aggregate_version),
        )
        for envelope in ordered:
            yield self._codec.encode(envelope)

    async def save(self, view: OrderView, entries: Sequence[TimelineEntry]) -> None:
        order_id = UUID(view.document["id"])
        self._store.views[order_id] = copy.deepcopy(view)
        self._store.timelines[order_id] = copy.deepcopy(list(entries))


class InMemoryViewStore:
    def __init__(self, store: InMemoryStore, codec: MessageCodec) -> None:
        self._store = store
        self._codec = codec
        self._locks: defaultdict[UUID, asyncio.Lock] = defaultdict(asyncio.Lock)

    @asynccontextmanager
    async def updating(self, order_id: UUID) -> AsyncIterator[_Update]:
        async with self._locks[order_id]:
            update = _Update(self._store, self._codec, order_id)
            yield update
            update.commit()

    @asynccontextmanager
    async def rebuilding(self) -> AsyncIterator[_Rebuild]:
        saved = (dict(self._store.views), dict(self._store.timelines))
        try:
            yield _Rebuild(self._store, self._codec)
        except BaseException:
            self._store.views, self._store.timelines = saved
            raise


class InMemoryViewReader:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def _standing(self, order_id: UUID) -> Standing:
        versions = [
            e.aggregate_version
            for e in self._store.outbox
            if e.aggregate_type == "order" and e.aggregate_id == str(order_id)
        ]
        view = self._store.views.get(order_id)
        return Standing.of(
            max(versions, default=None),
            view.version if view else None,
            view.channel if view else None,
        )

    async def order(self, order_id: UUID) -> tuple[Standing, OrderView | None]:
        return self._standing(order_id), copy.deepcopy(self._store.views.get(order_id))

    async def timeline(
        self, order_id: UUID, after: int, limit: int, *, even_if_behind: bool = False
    ) -> tuple[Standing, list[TimelineEntry] | None]:
        standing = self._standing(order_id)
        if standing.latest is None or not (standing.current or even_if_behind):
            return standing, None
        entries = self._store.timelines.get(order_id, [])
        return standing, copy.deepcopy([e for e in entries if e.aggregate_version > after][:limit])

    async def search(
        self, where: OrderFilter, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[Listed]:
        listed = [
            Listed(view.document, datetime.fromisoformat(view.document["created_at"]), order_id)
            for order_id, view in self._store.views.items()
            if _matches(view, where)
        ]
        listed.sort(key=lambda o: (o.created_at, o.order_id), reverse=True)
        if after is not None:
            listed = [o for o in listed if (o.created_at, o.order_id) < after]
        return [replace(o, document=copy.deepcopy(o.document)) for o in listed[:limit]]

    async def order_of_return(self, return_id: UUID) -> UUID | None:
        for order_id, view in self._store.views.items():
            if str(return_id) in view.returns:
                return order_id
        for order in self._store.orders.values():
            if return_id in order.returns:
                return order.id
        return None


def _matches(view: OrderView, where: OrderFilter) -> bool:
    d = view.document
    return (
        (
            where.customer_email is None
            or d["customer"]["email"].lower() == where.customer_email.lower()
        )
        and (where.channel is None or d["channel"] == where.channel)
        and (where.channel_order_ref is None or d["channel_order_ref"] == where.channel_order_ref)
        and (where.erp_order_ref is None or d["erp_order_ref"] == where.erp_order_ref)
        and (where.status is None or d["status"] == where.status)
        and (where.case_id is None or where.case_id in d["case_ids"])
    )

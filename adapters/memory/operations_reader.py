"""What operators watch, read from the in-memory store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from adapters.memory.store import InMemoryStore
from ports.operations import DeliveryCounts, OutboxBacklog, ReceivedReturn, Since, WaitingOrder


class InMemoryOperationsReader:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def outbox_backlog(self, published_since: datetime) -> OutboxBacklog:
        unpublished = [e for e in self._store.outbox if e.event_id not in self._store.published]
        return OutboxBacklog(
            len(unpublished),
            min((e.occurred_at for e in unpublished), default=None),
            sum(1 for at in self._store.published.values() if at >= published_since),
        )

    async def orders_waiting(
        self, statuses: Sequence[str], since: Since, before: datetime, limit: int
    ) -> list[WaitingOrder]:
        key = "created_at" if since is Since.PLACED else "updated_at"
        waiting = [
            WaitingOrder(order_id, v.document["channel_order_ref"], v.document["status"], moment)
            for order_id, v in self._store.views.items()
            if v.document["status"] in statuses
            and (moment := datetime.fromisoformat(v.document[key])) < before
        ]
        return sorted(waiting, key=lambda w: w.since)[:limit]

    async def returns_received_before(self, before: datetime, limit: int) -> list[ReceivedReturn]:
        received = sorted(
            (
                (entry, self._store.views[order_id])
                for order_id, entries in self._store.timelines.items()
                for entry in entries
                if entry.kind == "return.received" and entry.at < before
            ),
            key=lambda pair: pair[0].at,
        )[:limit]
        return [
            ReceivedReturn(
                order_id=entry.order_id,
                channel_order_ref=view.document["channel_order_ref"],
                return_id=(return_id := entry.detail.get("return_id")),
                return_status=next(
                    (r["status"] for r in view.document["returns"] if r["id"] == return_id), None
                ),
                received_at=entry.at,
            )
            for entry, view in received
        ]

    async def orders_with_entry(
        self, kind: str, statuses: Sequence[str], limit: int
    ) -> list[WaitingOrder]:
        found = []
        for order_id, entries in self._store.timelines.items():
            view = self._store.views.get(order_id)
            first = min((e.at for e in entries if e.kind == kind), default=None)
            if first is None or view is None or view.document["status"] not in statuses:
                continue
            document = view.document
            found.append(
                WaitingOrder(order_id, document["channel_order_ref"], document["status"], first)
            )
        return sorted(found, key=lambda w: w.since)[:limit]

    async def count_orders_waiting(
        self, statuses: Sequence[str], since: Since, before: datetime
    ) -> int:
        return len(await self.orders_waiting(statuses, since, before, len(self._store.views)))

    async def count_returns_received_before(self, before: datetime, statuses: Sequence[str]) -> int:
        everything = sum(len(entries) for entries in self._store.timelines.values())
        received = await self.returns_received_before(before, everything)
        return sum(1 for r in received if r.return_status in statuses)

    async def count_orders_with_entry(self, kind: str, statuses: Sequence[str]) -> int:
        return len(await self.orders_with_entry(kind, statuses, len(self._store.views)))

    async def delivery_counts(self) -> DeliveryCounts:
        pending = [r for r in self._store.deliveries.values() if r.unfinished]
        return DeliveryCounts(
            len(self._store.dead_letters),
            len(pending),
            sum(1 for r in pending if r.last_error is not None),
        )

    async def waiting_for_remotes(self) -> dict[str, int]:
        return dict(
            Counter(
                r.waiting_for
                for r in self._store.deliveries.values()
                if r.unfinished and r.outage_since is not None and r.waiting_for is not None
            )
        )

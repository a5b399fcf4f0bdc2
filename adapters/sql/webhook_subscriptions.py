"""Webhook subscriptions and what each was sent, in SQL; secrets sealed at rest (SecretBox)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.event_feed import SqlEventFeed
from adapters.sql.per_dialect import insert_or_skip
from adapters.sql.schema import deliveries, webhook_sends, webhook_subscriptions
from adapters.webhook_secrets import SecretBox
from ports.event_feed import FeedPosition
from ports.webhooks import WebhookSubscription

s = webhook_subscriptions.c
sends = webhook_sends.c
d = deliveries.c
#: Events replayed per transaction.
REPLAY_BATCH = 500

_SENT = insert_or_skip(webhook_sends)
_DUE = insert_or_skip(deliveries)


class SqlWebhookSubscriptions:
    def __init__(self, engine: AsyncEngine, box: SecretBox, consumer: str) -> None:
        """`consumer`: the name the webhook consumer's deliveries are filed under (replay)."""
        self._engine = engine
        self._box = box
        self._consumer = consumer
        self._feed = SqlEventFeed(engine)

    async def add(self, subscription: WebhookSubscription) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                webhook_subscriptions.insert().values(
                    id=subscription.id,
                    url=subscription.url,
                    event_types=sorted(subscription.event_types),
                    channel=subscription.channel,
                    secret=self._box.seal(subscription.secret),
                    created_at=subscription.created_at,
                )
            )

    async def all(self) -> Sequence[WebhookSubscription]:
        query = select(webhook_subscriptions).order_by(s.created_at, s.id)
        async with self._engine.connect() as conn:
            return [self._of(row) for row in (await conn.execute(query)).all()]

    async def get(self, subscription_id: UUID) -> WebhookSubscription | None:
        query = select(webhook_subscriptions).where(s.id == subscription_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else self._of(row)

    async def remove(self, subscription_id: UUID) -> bool:
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(webhook_sends).where(sends.subscription_id == subscription_id)
            )
            result = await conn.execute(
                delete(webhook_subscriptions).where(s.id == subscription_id)
            )
        return bool(result.rowcount)

    async def unsent(
        self, event_id: UUID, event_type: str, channel: str | None
    ) -> Sequence[WebhookSubscription]:
        was_sent = exists().where(sends.subscription_id == s.id, sends.event_id == event_id)
        query = (
            select(webhook_subscriptions)
            .where(s.disabled_at.is_(None), ~was_sent)
            .order_by(s.created_at, s.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        # Few subscriptions, each a short list of types: matched here, on every database alike.
        found = [self._of(row) for row in rows]
        return [x for x in found if x.hears(event_type, channel)]

    async def sent(self, subscription_id: UUID, event_id: UUID, now: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                _SENT[conn.dialect.name],
                {"subscription_id": subscription_id, "event_id": event_id, "sent_at": now},
            )

    async def disable(self, subscription_id: UUID, now: datetime, reason: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(webhook_subscriptions)
                .where(s.id == subscription_id, s.disabled_at.is_(None))
                .values(disabled_at=now, disabled_reason=reason[:500])
            )

    async def replay(
        self, subscription: WebhookSubscription, after: FeedPosition, now: datetime
    ) -> int:
        """Batch by batch, in one transaction each: the subscription's sends of the events after
        `after` are forgotten, and the consumer's deliveries of those events are due again now
        (attempts anew), so the relay publishes them again and the consumer sends them to this
        subscription only (the others have them recorded as sent)."""
        replayed, position = 0, after
        types = sorted(subscription.event_types)
        while items := await self._feed.read(
            position, REPLAY_BATCH, types=types, channel=subscription.channel
        ):
            ids = [UUID(str(item.message["event_id"])) for item in items]
            async with self._engine.begin() as conn:
                await conn.execute(
                    delete(webhook_sends).where(
                        sends.subscription_id == subscription.id, sends.event_id.in_(ids)
                    )
                )
                await conn.execute(
                    _DUE[conn.dialect.name],
                    [{"event_id": i, "consumer": self._consumer, "due_at": now} for i in ids],
                )
                await conn.execute(
                    update(deliveries)
                    .where(d.consumer == self._consumer, d.event_id.in_(ids))
                    .values(attempts=0, dead_at=None, processed_at=None, due_at=now,
                            publications=d.publications + 1, outage_since=None)
                )  # fmt: skip
            replayed += len(ids)
            position = items[-1].position
        return replayed

    def _of(self, row: Any) -> WebhookSubscription:
        return WebhookSubscription(
            id=row.id,
            url=row.url,
            event_types=frozenset(row.event_types),
            channel=row.channel,
            created_at=row.created_at,
            disabled_at=row.disabled_at,
            disabled_reason=row.disabled_reason,
            secret=self._box.open(row.secret),
        )


class SqlWebhookAudience:
    """`ports.audience` for the webhooks consumer: listened to while a subscription is enabled.
    Give it the read engine: the relay asks while its claim holds SQLite's write lock, and a
    reader never queues behind it (on PostgreSQL, it does not take one of the relay's
    connections either)."""

    def __init__(self, read_engine: AsyncEngine, consumer: str) -> None:
        self._engine = read_engine
        self._consumer = consumer

    async def listening(self) -> frozenset[str]:
        async with self._engine.connect() as conn:
            enabled = await conn.execute(select(s.id).where(s.disabled_at.is_(None)).limit(1))
            return frozenset({self._consumer}) if enabled.first() else frozenset()

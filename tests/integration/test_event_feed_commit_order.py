"""The feed never skips an event whose transaction commits late (PRODUCT.md §4.1's high-water
mark trap): proved on PostgreSQL with two transactions that commit out of order."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.event_feed import SqlEventFeed
from adapters.sql.schema import outbox
from ports.event_feed import START, FeedItem, FeedPosition

pytestmark = pytest.mark.postgres


async def read_until(feed: SqlEventFeed, after: FeedPosition, count: int) -> list[FeedItem]:
    """The first `count` events after `after`, read as soon as they are readable (the horizon is
    the cluster's oldest running transaction: another database's may hold it for a moment)."""
    deadline = time.monotonic() + 10
    while len(items := await feed.read(after, 100)) < count:
        assert time.monotonic() < deadline, f"{len(items)} of {count} events readable"
        await asyncio.sleep(0.02)
    return list(items)


async def write_event(conn: AsyncConnection, order: str) -> int:
    """An outbox row as a unit of work writes it; answers its id."""
    result = await conn.execute(
        insert(outbox).returning(outbox.c.id),
        {
            "event_id": uuid.uuid4(), "event_type": "OrderHeld", "schema_version": 1,
            "aggregate_type": "order", "aggregate_id": order, "aggregate_version": 1,
            "occurred_at": datetime.now(UTC), "correlation_id": "c", "causation_id": None,
            "actor": "test", "payload": {}, "channel": "web",
        },
    )  # fmt: skip
    return int(result.scalar_one())


async def test_an_event_with_a_lower_id_that_commits_later_is_still_read(
    postgres_engine: AsyncEngine,
) -> None:
    feed = SqlEventFeed(postgres_engine)
    async with postgres_engine.connect() as early, postgres_engine.connect() as late:
        await early.begin()
        early_id = await write_event(early, "order-early")  # takes the lower id…
        await late.begin()
        late_id = await write_event(late, "order-late")
        await late.commit()  # …and the higher id commits first
        assert early_id < late_id

        # A reader now sees id `late_id` committed; "id > last seen" would hand out a cursor past
        # `early_id` and skip it for ever. The feed holds the late row back while the earlier
        # transaction may still commit.
        first = await feed.read(START, 100)
        assert first == []
        cursor = START

        await early.commit()

    second = await read_until(feed, cursor, 2)
    assert [item.message["aggregate_id"] for item in second] == ["order-early", "order-late"]
    assert [item.position.id for item in second] == [early_id, late_id]
    assert second[0].position < second[1].position
    assert await feed.read(second[-1].position, 100) == []


async def test_a_transaction_running_while_others_commit_is_read_after_the_last_cursor(
    postgres_engine: AsyncEngine,
) -> None:
    """A reader that keeps reading while one transaction stays open gets every event once: the
    ones committed behind it as soon as it ends, none before a position already handed out."""
    feed = SqlEventFeed(postgres_engine)
    seen: list[str] = []
    cursor: FeedPosition = START

    async def poll(expect: int = 0) -> None:
        nonlocal cursor
        for item in await read_until(feed, cursor, expect):
            seen.append(item.message["aggregate_id"])
            cursor = item.position

    async with postgres_engine.connect() as slow:
        await slow.begin()
        await write_event(slow, "slow")
        for n in range(3):
            async with postgres_engine.begin() as quick:
                await write_event(quick, f"quick-{n}")
            await poll()
        assert seen == []  # everything waits behind the open transaction
        await slow.commit()
    await poll(expect=4)
    async with postgres_engine.begin() as after:
        await write_event(after, "after")
    await poll(expect=1)

    assert seen == ["slow", "quick-0", "quick-1", "quick-2", "after"]

"""Scenario 2: the relay killed with SIGKILL while it publishes, three times during a steady order
load; a new relay takes over each time. Events it put into Redis but did not mark published are
published again by the new relay (the consumers suppress the copies); events it never published
are claimed by the new relay.

To land a kill inside the publishing step, the relay is held (SIGSTOP) while a backlog builds,
released, and killed the moment the broker holds more messages than before (the relay's pipeline
has begun to land, its transaction is not committed yet). The worker is held meanwhile so that
what the dead relay put into Redis stays there to be counted: messages in the broker whose event
the outbox still has as unpublished prove that the relay died between publishing and marking."""

from __future__ import annotations

import asyncio
import json
import time

import asyncpg
import pytest
import redis

from tests.faults.conftest import BROKER_URL, Stack, StackFactory
from tests.faults.load import SteadyLoad
from tests.faults.reconcile import Expect, dsn, report, settle

pytestmark = pytest.mark.faults

KILLS = 3


async def _unpublished(db_url: str) -> set[str]:
    conn = await asyncpg.connect(dsn(db_url), timeout=5)
    try:
        rows = await conn.fetch("SELECT event_id::text FROM outbox WHERE published_at IS NULL")
        return {r["event_id"] for r in rows}
    finally:
        await conn.close()


def held(broker: redis.Redis) -> int:
    return sum(int(broker.hlen(key)) for key in broker.scan_iter("orderhub:*.msgs"))


def events_in_broker(broker: redis.Redis) -> set[str]:
    """Event ids of the messages the broker holds (`<namespace>:<queue>.msgs` hashes): one
    delivery's message, or a batch of them."""
    found = set()
    for key in broker.scan_iter("orderhub:*.msgs"):
        for raw in broker.hvals(key):
            carried = json.loads(raw)["args"][0]
            for message in carried if isinstance(carried, list) else [carried]:
                found.add(message["event_id"])
    return found


def relaying(stack: Stack) -> None:
    """Wait (bounded) until a freshly started relay has taken the backlog."""
    deadline = time.monotonic() + 30
    while len(asyncio.run(_unpublished(stack.db_url))) > 50 and time.monotonic() < deadline:
        time.sleep(0.1)


def kill_mid_publish(stack: Stack, relay: str, broker: redis.Redis) -> int:
    """Returns how many events the killed relay had published and not marked. Every worker is
    held meanwhile, and every other relay too, so that what lands in the broker is this relay's."""
    others = [n for n in stack.running() if n.startswith(("worker-", "relay-")) and n != relay]
    for name in others:
        stack.pause(name)
    stack.pause(relay)
    time.sleep(1.5)  # the load keeps writing events: a backlog for the relay
    before = held(broker)
    stack.resume(relay)
    deadline = time.monotonic() + 5
    while held(broker) <= before and time.monotonic() < deadline:
        pass  # a tight loop: the window between publishing and committing is milliseconds
    stack.kill(relay)
    caught = len(events_in_broker(broker) & asyncio.run(_unpublished(stack.db_url)))
    for name in others:
        stack.resume(name)
    return caught


def test_a_relay_killed_while_publishing_is_replaced_and_nothing_is_lost_or_doubled(
    make_stack: StackFactory,
) -> None:
    stack = make_stack()
    broker = redis.Redis.from_url(BROKER_URL)
    relay = "relay-1"
    caught: list[int] = []
    with SteadyLoad(stack.url, stack.keys.web, rate=20) as load:
        for _ in range(KILLS):
            time.sleep(2)
            caught.append(kill_mid_publish(stack, relay, broker))
            relay = stack.start_relay()
            relaying(stack)
        fault_end = time.monotonic()
        time.sleep(3)
    counts = settle(stack.db_url, Expect(load.operations, erp=stack.erp), since=fault_end)
    report("2 relay kill -9 x3", counts, f"published-not-marked events at each kill={caught}")
    broker.close()
    assert counts.holds, counts.explain()
    assert sum(caught) > 0, "no kill landed between publishing and marking"

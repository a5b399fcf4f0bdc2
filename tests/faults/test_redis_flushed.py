"""Scenario 3: the broker's Redis database flushed while events are in flight (a Redis restart
without persistence). The relay publishes again every delivery not processed within
DELIVERY_TIMEOUT_SECONDS (2 here), so nothing the broker lost is lost."""

from __future__ import annotations

import time

import pytest
import redis

from tests.faults.conftest import BROKER_URL, StackFactory
from tests.faults.load import SteadyLoad
from tests.faults.reconcile import Expect, report, settle

pytestmark = pytest.mark.faults

FLUSHES = 2


def held(broker: redis.Redis) -> int:
    """Messages the broker holds, queued or delivered and not yet acknowledged (Dramatiq's Redis
    broker keeps each message in the hash `<namespace>:<queue>.msgs` until it is acked)."""
    return sum(int(broker.hlen(key)) for key in broker.scan_iter("orderhub:*.msgs"))


def test_messages_the_broker_lost_are_published_again(make_stack: StackFactory) -> None:
    stack = make_stack(DELIVERY_TIMEOUT_SECONDS="2")
    broker = redis.Redis.from_url(BROKER_URL)
    lost_in_broker: list[int] = []
    with SteadyLoad(stack.url, stack.keys.web, rate=25) as load:
        for _ in range(FLUSHES):
            time.sleep(4)
            # Hold the worker for a moment so that messages pile up in Redis, then lose them all.
            stack.pause("worker-1")
            time.sleep(1.5)
            lost_in_broker.append(held(broker))
            broker.flushdb()
            stack.resume("worker-1")
        fault_end = time.monotonic()
        time.sleep(3)
    counts = settle(stack.db_url, Expect(load.operations, erp=stack.erp), since=fault_end)
    report("3 redis FLUSHDB x2", counts, f"messages flushed={lost_in_broker}")
    broker.close()
    assert counts.holds, counts.explain()
    assert min(lost_in_broker) > 0, "nothing was in flight when the broker was flushed"

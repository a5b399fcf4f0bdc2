"""Scenario 1: a worker killed with SIGKILL in the middle of messages, three times during a steady
order load, a new worker started each time. Its messages come back (Dramatiq's heartbeat timeout,
or the relay's redelivery timeout) and every event is processed once by every consumer.

The relay's redelivery timeout is the product default (30 s) here, so it is Dramatiq's heartbeat
(PRODUCT.md §4.1) that brings a killed worker's messages back; with the suite's usual 5 s, a
backlog longer than the timeout is republished every 5 s and the copies swamp the worker.

Each kill waits until the current worker is busy and holds a delivery it is running (its
`deliveries.running_until` lies ahead), and counts the deliveries held at the kill: attempts
counted, not finished, cut mid-message."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from tests.faults.conftest import StackFactory
from tests.faults.load import SteadyLoad
from tests.faults.reconcile import Expect, dsn, report, settle

pytestmark = pytest.mark.faults

KILLS = 3


async def _deliveries(db_url: str) -> tuple[int, dict[tuple[str, str], int]]:
    """(processed so far, attempts of every started and unfinished delivery)."""
    conn = await asyncpg.connect(dsn(db_url), timeout=5)
    try:
        processed = await conn.fetchval(
            "SELECT count(*) FROM deliveries WHERE processed_at IS NOT NULL"
        )
        rows = await conn.fetch(
            "SELECT event_id::text, consumer, attempts FROM deliveries "
            "WHERE attempts > 0 AND processed_at IS NULL AND dead_at IS NULL"
        )
        return int(processed), {(r["event_id"], r["consumer"]): r["attempts"] for r in rows}
    finally:
        await conn.close()


def busy(db_url: str, timeout: float = 20) -> None:
    """Wait (bounded) until deliveries are being processed: a new worker is up and working."""
    first, _ = asyncio.run(_deliveries(db_url))
    deadline = time.monotonic() + timeout
    while asyncio.run(_deliveries(db_url))[0] <= first + 20 and time.monotonic() < deadline:
        time.sleep(0.1)


async def _held(db_url: str) -> int:
    """Deliveries a running attempt holds now (attempt counted, not finished)."""
    conn = await asyncpg.connect(dsn(db_url), timeout=5)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM deliveries WHERE running_until > now() "
                "AND processed_at IS NULL AND dead_at IS NULL"
            )
        )
    finally:
        await conn.close()


def mid_message(db_url: str, at_least: int = 2, timeout: float = 20) -> None:
    """Wait (bounded) until the worker holds `at_least` deliveries it is running (more than one,
    so that a kill a moment later still finds one of them running)."""
    deadline = time.monotonic() + timeout
    while asyncio.run(_held(db_url)) < at_least and time.monotonic() < deadline:
        time.sleep(0.01)


def test_workers_killed_mid_message_lose_nothing_and_apply_nothing_twice(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(DELIVERY_TIMEOUT_SECONDS="30")
    worker = "worker-1"
    cut: list[int] = []
    with SteadyLoad(stack.url, stack.keys.web, rate=20) as load:
        for _ in range(KILLS):
            busy(stack.db_url)
            mid_message(stack.db_url)
            stack.kill(worker)
            cut.append(asyncio.run(_held(stack.db_url)))  # held by the dead worker, cut short
            worker = stack.start_worker()
        fault_end = time.monotonic()
        time.sleep(3)
    counts = settle(stack.db_url, Expect(load.operations, erp=stack.erp), since=fault_end)
    report("1 worker kill -9 x3", counts, f"deliveries cut mid-message at each kill={cut}")
    assert counts.holds, counts.explain()
    assert sum(cut) > 0, "no kill landed in the middle of a message"

"""`/metrics` reads the hub's state from the database at most once per interval, however many
scrapers ask: the counts a scrape shows are at most that old."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from adapters.clock import FixedClock
from adapters.memory.circuit_board import InMemoryCircuitBoard
from adapters.memory.operations_reader import InMemoryOperationsReader
from adapters.memory.store import InMemoryStore
from entrypoints.metrics import STUCK_SPACING, HubState
from ports.delivery_log import DeadLetter
from ports.views import OrderView
from read_models.operations import Operations
from read_models.remotes import Remotes
from tests.unit.adapters.timing import FakeMonotonic

AT = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)


def dead_letters_shown(body: bytes) -> float:
    found = re.search(rb"^orderhub_dead_letters (\S+)$", body, re.MULTILINE)
    assert found is not None
    return float(found.group(1))


def bury_one(store: InMemoryStore) -> None:
    letter = DeadLetter.of({"event_id": "x"}, "erp", 1, "permanent", "no", AT)
    store.dead_letters[letter.id] = letter


async def test_the_state_is_read_once_per_interval_however_often_it_is_scraped() -> None:
    store, watch = InMemoryStore(), FakeMonotonic()
    reader = InMemoryOperationsReader(store)
    state = HubState(
        Operations(reader, FixedClock(AT)),
        Remotes(InMemoryCircuitBoard(store), reader),
        every=5.0,
        monotonic=watch,
    )
    assert dead_letters_shown(await state.scrape()) == 0

    bury_one(store)
    watch.advance(4.9)
    stale = [dead_letters_shown(await state.scrape()) for _ in range(3)]
    watch.advance(0.1)
    fresh = dead_letters_shown(await state.scrape())

    assert (stale, fresh) == ([0, 0, 0], 1)


def stuck_shown(body: bytes, kind: str) -> float:
    found = re.search(rb'^orderhub_stuck_workflows\{kind="%s"\} (\S+)$' % kind.encode(), body, re.M)
    assert found is not None
    return float(found.group(1))


def place_unbooked(store: InMemoryStore, count: int) -> None:
    """Orders reserved an hour before `AT`: past the 15-minute booking SLA."""
    placed = (AT - timedelta(hours=1)).isoformat()
    for i in range(count):
        document = {"status": "reserved", "created_at": placed, "updated_at": placed,
                    "channel_order_ref": f"WEB-{i}"}  # fmt: skip
        store.views[uuid4()] = OrderView(1, "web", document, {})


async def test_stuck_workflows_are_all_counted_and_read_less_often_than_the_rest() -> None:
    store, watch = InMemoryStore(), FakeMonotonic()
    reader = InMemoryOperationsReader(store)
    state = HubState(
        Operations(reader, FixedClock(AT)),
        Remotes(InMemoryCircuitBoard(store), reader),
        every=5.0,
        monotonic=watch,
    )
    place_unbooked(store, 130)
    first = stuck_shown(await state.scrape(), "not_booked")

    place_unbooked(store, 20)
    bury_one(store)
    watch.advance(5.0 * STUCK_SPACING - 0.1)
    before = await state.scrape()  # the other gauges are read again, the stuck counts not yet
    watch.advance(5.0)
    after = stuck_shown(await state.scrape(), "not_booked")

    assert first == 130  # past the listing's page of 100
    assert (dead_letters_shown(before), stuck_shown(before, "not_booked")) == (1, 130)
    assert after == 150

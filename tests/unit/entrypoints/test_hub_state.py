"""`/metrics` reads the hub's state from the database at most once per interval, however many
scrapers ask: the counts a scrape shows are at most that old."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from adapters.clock import FixedClock
from adapters.memory.circuit_board import InMemoryCircuitBoard
from adapters.memory.operations_reader import InMemoryOperationsReader
from adapters.memory.store import InMemoryStore
from entrypoints.metrics import HubState
from ports.delivery_log import DeadLetter
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

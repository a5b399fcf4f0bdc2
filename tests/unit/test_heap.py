"""The long-running processes freeze what startup allocated (entrypoints/heap.py)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from entrypoints.heap import freeze_startup_objects


@pytest.fixture
def unfrozen_afterwards() -> Iterator[None]:
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen_afterwards")
def test_objects_alive_at_startup_leave_the_collectors_generations_and_garbage_does_not() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the collector frees it

    alive = Node()
    garbage = weakref.ref(Node())  # unreachable at once, but a cycle
    before = len(gc.get_objects())

    freeze_startup_objects()

    assert gc.get_freeze_count() > 0
    assert len(gc.get_objects()) < before / 10  # what a full collection still walks
    assert all(o is not alive for o in gc.get_objects())  # frozen, not freed
    assert garbage() is None  # collected before the freeze, not kept for good

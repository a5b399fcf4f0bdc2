"""Id generators: random UUIDs in production, a counter in tests for readable, stable ids."""

from __future__ import annotations

import random
import secrets
import threading
import uuid
from itertools import count
from uuid import UUID


class RandomIds:
    def new_id(self) -> UUID:
        return uuid.uuid4()

    def rma_number(self) -> str:
        return "RMA-" + secrets.token_hex(5).upper()


class SeededIds:
    """Random-looking version 4 UUIDs from a seed: the same seed gives the same ids (the demo)."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def new_id(self) -> UUID:
        with self._lock:
            return uuid.UUID(int=self._rng.getrandbits(128), version=4)

    def rma_number(self) -> str:
        with self._lock:
            return f"RMA-{self._rng.getrandbits(40):010X}"


class SequentialIds:
    """Deterministic ids: 00000000-0000-4000-8000-000000000001, 2, 3, …"""

    def __init__(self) -> None:
        self._ids = count(1)
        self._rmas = count(1)

    def new_id(self) -> UUID:
        return UUID(int=(4 << 76) | (8 << 60) | next(self._ids))

    def rma_number(self) -> str:
        return f"RMA-{next(self._rmas):06d}"

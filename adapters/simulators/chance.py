"""Seeded randomness for the simulators: one reproducible stream per logical thing."""

from __future__ import annotations

import random
from datetime import timedelta
from hashlib import sha256


def derive_seed(seed: int, *parts: object) -> int:
    """A seed of its own for `parts` (a system, an order id…), stable across processes."""
    text = "/".join(str(part) for part in (seed, *parts))
    return int.from_bytes(sha256(text.encode()).digest()[:8], "big")


def stream(seed: int, *parts: object) -> random.Random:
    """A random stream that depends only on the seed and `parts`, so what happens to one order
    does not change when other orders arrive in another order or the clock is polled more often."""
    return random.Random(derive_seed(seed, *parts))


def chance(rng: random.Random, rate: float) -> bool:
    """True with probability `rate`; always draws once, so later draws do not shift with `rate`."""
    return rng.random() < rate


def between(rng: random.Random, low: timedelta, high: timedelta) -> timedelta:
    """A whole number of seconds drawn uniformly from [low, high]; always draws once."""
    low_s, high_s = round(low.total_seconds()), round(high.total_seconds())
    if high_s < low_s:
        raise ValueError(f"empty delay range {low} .. {high}")
    return timedelta(seconds=low_s + int(rng.random() * (high_s - low_s + 1)))

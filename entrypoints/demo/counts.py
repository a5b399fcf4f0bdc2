"""How far the demo's day has come: what it has done so far, and the simulated time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class DayCounts:
    """Counted as the day plays: the summary at the end counts again, from the database."""

    now: datetime
    placed: int = 0
    refused: int = 0
    shipped: int = 0
    returned: int = 0
    refunded: int = 0
    relayed: int = 0

"""A shipment: units of an order that left one location with a carrier and a tracking number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True, kw_only=True)
class Shipment:
    id: str
    location: str
    carrier: str
    tracking_number: str
    lines: dict[str, int]
    dispatched_at: datetime
    delivered_at: datetime | None = None

    @property
    def is_delivered(self) -> bool:
        return self.delivered_at is not None

    def same_contents(
        self, location: str, carrier: str, tracking_number: str, lines: dict[str, int]
    ) -> bool:
        """True when a repeated report of this shipment says the same thing (a harmless duplicate)."""
        return (self.location, self.carrier, self.tracking_number, self.lines) == (
            location,
            carrier,
            tracking_number,
            lines,
        )

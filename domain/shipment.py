"""A shipment: units that left one location with a carrier; `Shipments` holds one order's."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.errors import FieldIssue
from domain.inventory import StockKey
from domain.order_lines import ensure_no_issues, text_issues


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


def ensure_valid_report(
    shipment_id: str,
    location: str,
    carrier: str,
    tracking_number: str,
    lines: Sequence[tuple[str, int]],
    ordered: Collection[str],
) -> None:
    """Refuse a warehouse's shipment report with every shape problem at once (`ValidationFailed`):
    blank fields, no lines, a SKU not in `ordered` or listed twice, a quantity below one."""
    issues = text_issues("shipment_id", shipment_id) + text_issues("location", location)
    issues += text_issues("carrier", carrier) + text_issues("tracking_number", tracking_number)
    if not lines:
        issues.append(FieldIssue("lines", "a shipment needs at least one line"))
    seen: set[str] = set()
    for i, (sku, quantity) in enumerate(lines):
        if sku not in ordered:
            issues.append(FieldIssue(f"lines[{i}].sku", f"{sku!r} is not a line of this order"))
        if sku in seen:
            issues.append(FieldIssue(f"lines[{i}].sku", f"duplicate SKU {sku!r}"))
        if quantity < 1:
            issues.append(FieldIssue(f"lines[{i}].quantity", "must be at least 1"))
        seen.add(sku)
    ensure_no_issues(issues)


class Shipments(Mapping[str, Shipment]):
    """The shipments of one order by id, in the order they were reported. Read like a dict; a
    shipment is only ever added (a delivery is recorded on the shipment itself)."""

    def __init__(self, shipments: Mapping[str, Shipment] | None = None) -> None:
        self._by_id = dict(shipments or {})

    def __getitem__(self, shipment_id: str) -> Shipment:
        return self._by_id[shipment_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def __repr__(self) -> str:
        return f"Shipments({self._by_id!r})"

    def add(self, shipment: Shipment) -> None:
        self._by_id[shipment.id] = shipment

    @property
    def all_delivered(self) -> bool:
        return all(s.is_delivered for s in self._by_id.values())

    def delivered_at(self, sku: str) -> datetime | None:
        """When the return window for `sku` started: the latest delivery of a shipment carrying
        it, or None while any such shipment is still on its way (those units are inside it)."""
        carrying = [s for s in self._by_id.values() if sku in s.lines]
        if not carrying or any(s.delivered_at is None for s in carrying):
            return None
        return max(s.delivered_at for s in carrying if s.delivered_at is not None)

    def shipped_from(self, sku: str) -> str:
        """Where returned units of `sku` go back on the shelf: where its first shipment left."""
        by_dispatch = sorted(self._by_id.values(), key=lambda s: s.dispatched_at)
        return next(s.location for s in by_dispatch if sku in s.lines)

    def stock_keys(self) -> set[StockKey]:
        """The stock level of every SKU at every location these shipments left."""
        return {StockKey(sku, s.location) for s in self._by_id.values() for sku in s.lines}

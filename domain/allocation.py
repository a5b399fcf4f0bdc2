"""Allocation: which locations fill which order lines, in the retailer's priority order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from domain.errors import Shortage
from domain.inventory import StockKey, StockLevel


@dataclass(frozen=True, slots=True)
class LocationPriority:
    """Listed locations first, in their order; any other location after them, by name."""

    order: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> LocationPriority:
        """Read `LOCATION_PRIORITY` (`dc-east,dc-west,store-12`)."""
        return cls(tuple(part.strip() for part in text.split(",") if part.strip()))

    def sort(self, locations: Iterable[str]) -> list[str]:
        rank = {location: i for i, location in enumerate(self.order)}
        return sorted(locations, key=lambda loc: (rank.get(loc, len(rank)), loc))


@dataclass(frozen=True, slots=True)
class Allocation:
    """Units to reserve per stock level, and what could not be found."""

    picks: tuple[tuple[StockKey, int], ...]
    shortages: tuple[Shortage, ...]

    @property
    def is_complete(self) -> bool:
        return not self.shortages


def plan_allocation(
    needs: Sequence[tuple[str, int]],
    stock: Mapping[StockKey, StockLevel],
    priority: LocationPriority,
) -> Allocation:
    """Fill each `(sku, quantity)` need from locations in priority order, splitting across them.

    Pure: nothing is reserved until the order applies the plan.
    """
    by_sku: dict[str, list[StockLevel]] = {}
    for level in stock.values():
        by_sku.setdefault(level.sku, []).append(level)
    picks: list[tuple[StockKey, int]] = []
    shortages: list[Shortage] = []
    for sku, quantity in needs:
        levels = {level.location: level for level in by_sku.get(sku, [])}
        remaining = quantity
        for location in priority.sort(levels):
            take = min(levels[location].available, remaining)
            if take > 0:
                picks.append((StockKey(sku, location), take))
                remaining -= take
            if remaining == 0:
                break
        if remaining:
            shortages.append(Shortage(sku, quantity, quantity - remaining))
    return Allocation(tuple(picks), tuple(shortages))

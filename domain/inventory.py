"""Stock per SKU and location: on hand, reserved, and what is still available to sell."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from domain.aggregate import Aggregate
from domain.errors import FieldIssue, ValidationFailed
from domain.events import StockAdjusted, StockShortfallDetected, StockSnapshotApplied


@dataclass(frozen=True, slots=True, order=True)
class StockKey:
    """Identifies one stock level; sorting keys gives the stable lock order across SKUs."""

    sku: str
    location: str


class Movement(StrEnum):
    """What a change of an order does to a stock level."""

    RESERVE = "reserve"  #: reserved += q
    RELEASE = "release"  #: reserved -= q
    FULFIL = "fulfil"  #: reserved -= q and on_hand -= q (reserved units left the building)
    SHIP_UNRESERVED = "ship_unreserved"  #: on_hand -= q (shipped from a location that held none)
    RESTOCK = "restock"  #: on_hand += q (a returned unit back on the shelf)


@dataclass(frozen=True, slots=True)
class StockMovement:
    """A quantity moving in one stock level, produced by the order and applied to the level."""

    key: StockKey
    movement: Movement
    quantity: int


class StockLevel(Aggregate):
    """`available = on_hand - reserved` and never below zero.

    Reservations only take what is available, so they never oversell. A snapshot or adjustment from
    the warehouse is a fact and is always applied; when it drops `on_hand` below `reserved`
    (shrinkage), the level reports the excess as `shortfall`, records `StockShortfallDetected`, and
    sells nothing more until stock comes back.
    """

    aggregate_type = "stock"

    def __init__(
        self,
        sku: str,
        location: str,
        *,
        on_hand: int = 0,
        reserved: int = 0,
        last_sequence: int | None = None,
        version: int = 0,
    ) -> None:
        super().__init__(version)
        self.key = StockKey(sku, location)
        self.on_hand = on_hand
        self.reserved = reserved
        self.last_sequence = last_sequence

    @property
    def sku(self) -> str:
        return self.key.sku

    @property
    def stream_id(self) -> str:
        return f"{self.key.sku}@{self.key.location}"

    @property
    def location(self) -> str:
        return self.key.location

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)

    @property
    def shortfall(self) -> int:
        return max(self.reserved - self.on_hand, 0)

    # -- movements from orders ---------------------------------------------------------------

    def apply(self, movement: StockMovement) -> None:
        """Apply one movement of an order's reservations to this level."""
        q = movement.quantity
        if q < 1:
            raise ValueError(f"movement quantity must be positive, got {q}")
        match movement.movement:
            case Movement.RESERVE:
                self._ensure_available(q)
                self.reserved += q
            case Movement.RELEASE:
                self._ensure_reserved(q)
                self.reserved -= q
            case Movement.FULFIL:
                self._ensure_reserved(q)
                self.reserved -= q
                self.on_hand = max(self.on_hand - q, 0)
                self._report_shortfall()
            case Movement.SHIP_UNRESERVED:  # units left that others may have counted on
                self.on_hand = max(self.on_hand - q, 0)
                self._report_shortfall()
            case Movement.RESTOCK:
                self.on_hand += q

    def _ensure_available(self, quantity: int) -> None:
        if quantity > self.available:
            raise ValueError(f"{self.key}: cannot reserve {quantity}, {self.available} available")

    def _ensure_reserved(self, quantity: int) -> None:
        if quantity > self.reserved:
            raise ValueError(f"{self.key}: cannot release {quantity}, {self.reserved} reserved")

    # -- facts from the warehouse and the ERP -------------------------------------------------

    def apply_snapshot(self, on_hand: int, sequence: int) -> bool:
        """Set on_hand from a counted snapshot; a snapshot not newer than the last one is ignored.

        Returns whether the snapshot was applied.
        """
        if on_hand < 0:
            raise ValidationFailed([FieldIssue("on_hand", "must not be negative")])
        if self.last_sequence is not None and sequence <= self.last_sequence:
            return False
        previous = self.on_hand
        self.on_hand, self.last_sequence = on_hand, sequence
        self._record(
            StockSnapshotApplied(
                sku=self.sku,
                location=self.location,
                on_hand=on_hand,
                previous_on_hand=previous,
                sequence=sequence,
                available=self.available,
            )
        )
        self._report_shortfall()
        return True

    def adjust(self, delta: int, reason: str) -> None:
        """Apply a relative change; on_hand stops at zero (the applied delta says what happened)."""
        if delta == 0:
            raise ValidationFailed([FieldIssue("delta", "must not be zero")])
        previous = self.on_hand
        self.on_hand = max(self.on_hand + delta, 0)
        self._record(
            StockAdjusted(
                sku=self.sku,
                location=self.location,
                delta=delta,
                applied_delta=self.on_hand - previous,
                on_hand=self.on_hand,
                reason=reason,
                available=self.available,
            )
        )
        self._report_shortfall()

    def _report_shortfall(self) -> None:
        if self.shortfall:
            self._record(
                StockShortfallDetected(
                    sku=self.sku,
                    location=self.location,
                    on_hand=self.on_hand,
                    reserved=self.reserved,
                )
            )


def apply_movements(
    movements: Iterable[StockMovement], levels: Mapping[StockKey, StockLevel]
) -> None:
    """Apply an order's stock movements to the levels they name (every key must be loaded)."""
    for movement in movements:
        levels[movement.key].apply(movement)

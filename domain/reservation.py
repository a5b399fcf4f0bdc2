"""A reservation holds units of one SKU at one location for one order line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final
from uuid import UUID

from domain.events import ReservedUnits
from domain.inventory import Movement, StockKey, StockMovement
from domain.state_machine import TransitionTable


class ReservationStatus(StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    FULFILLED = "fulfilled"
    RELEASED = "released"
    EXPIRED = "expired"


class ReservationCommand(StrEnum):
    CONFIRM = "confirm"
    START_EXPIRY = "start_expiry"
    STOP_EXPIRY = "stop_expiry"
    FULFIL = "fulfil"
    RELEASE = "release"
    EXPIRE = "expire"


_S, _C = ReservationStatus, ReservationCommand

#: Partial fulfilment or release keeps the reservation in its state; it ends when nothing is left.
RESERVATION_TRANSITIONS: Final = TransitionTable[ReservationStatus, ReservationCommand](
    "reservation",
    {
        _S.HELD: {
            _C.CONFIRM: frozenset({_S.CONFIRMED}),
            _C.START_EXPIRY: frozenset({_S.HELD}),
            _C.STOP_EXPIRY: frozenset({_S.HELD}),
            _C.FULFIL: frozenset({_S.HELD, _S.FULFILLED}),
            _C.RELEASE: frozenset({_S.HELD, _S.RELEASED, _S.FULFILLED}),
            _C.EXPIRE: frozenset({_S.EXPIRED}),
        },
        _S.CONFIRMED: {
            _C.FULFIL: frozenset({_S.CONFIRMED, _S.FULFILLED}),
            _C.RELEASE: frozenset({_S.CONFIRMED, _S.RELEASED, _S.FULFILLED}),
        },
        _S.FULFILLED: {},
        _S.RELEASED: {},
        _S.EXPIRED: {},
    },
)


@dataclass(slots=True, kw_only=True)
class Reservation:
    """`quantity` units reserved; `outstanding` is what still sits reserved in the stock level.

    A held reservation gets an `expires_at` only while its order is on hold: waiting for the ERP
    never expires stock, an exception left unhandled past the TTL does.
    """

    id: UUID
    sku: str
    location: str
    quantity: int
    fulfilled: int = 0
    released: int = 0
    status: ReservationStatus = ReservationStatus.HELD
    expires_at: datetime | None = None

    @property
    def key(self) -> StockKey:
        return StockKey(self.sku, self.location)

    @property
    def outstanding(self) -> int:
        return self.quantity - self.fulfilled - self.released

    @property
    def is_active(self) -> bool:
        return self.status in (ReservationStatus.HELD, ReservationStatus.CONFIRMED)

    def units(self, quantity: int | None = None) -> ReservedUnits:
        return ReservedUnits(
            reservation_id=self.id,
            sku=self.sku,
            location=self.location,
            quantity=self.outstanding if quantity is None else quantity,
        )

    def confirm(self) -> None:
        """The order is booked: the hold becomes firm and never expires."""
        self.status = RESERVATION_TRANSITIONS.move(self.status, _C.CONFIRM, _S.CONFIRMED)
        self.expires_at = None

    def start_expiry(self, expires_at: datetime) -> None:
        RESERVATION_TRANSITIONS.move(self.status, _C.START_EXPIRY, _S.HELD)
        self.expires_at = expires_at

    def stop_expiry(self) -> None:
        RESERVATION_TRANSITIONS.move(self.status, _C.STOP_EXPIRY, _S.HELD)
        self.expires_at = None

    def fulfil(self, quantity: int) -> StockMovement:
        """`quantity` reserved units were shipped from this location."""
        RESERVATION_TRANSITIONS.ensure_allowed(self.status, _C.FULFIL)
        self._ensure_outstanding(quantity)
        self.fulfilled += quantity
        self.status = RESERVATION_TRANSITIONS.move(
            self.status, _C.FULFIL, self._after(_S.FULFILLED)
        )
        return StockMovement(self.key, Movement.FULFIL, quantity)

    def release(self, quantity: int | None = None) -> StockMovement:
        """Give back `quantity` units (all outstanding units by default) to available stock."""
        RESERVATION_TRANSITIONS.ensure_allowed(self.status, _C.RELEASE)
        quantity = self.outstanding if quantity is None else quantity
        self._ensure_outstanding(quantity)
        self.released += quantity
        self.status = RESERVATION_TRANSITIONS.move(
            self.status, _C.RELEASE, self._after(_S.RELEASED)
        )
        return StockMovement(self.key, Movement.RELEASE, quantity)

    def expire(self) -> StockMovement:
        """The order sat on hold past the TTL: every outstanding unit goes back to sale."""
        quantity = self.outstanding
        self.status = RESERVATION_TRANSITIONS.move(self.status, _C.EXPIRE, _S.EXPIRED)
        self.released += quantity
        self.expires_at = None
        return StockMovement(self.key, Movement.RELEASE, quantity)

    def _after(self, ended: ReservationStatus) -> ReservationStatus:
        if self.outstanding > 0:
            return self.status
        return ReservationStatus.FULFILLED if self.fulfilled else ended

    def _ensure_outstanding(self, quantity: int) -> None:
        if not 0 < quantity <= self.outstanding:
            raise ValueError(
                f"reservation {self.id}: {quantity} is not within the {self.outstanding} outstanding"
            )

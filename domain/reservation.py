"""A reservation holds units of one SKU at one location; `Reservations` holds one order's."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Final, TypeAlias, overload
from uuid import UUID

from domain.allocation import LocationPriority, plan_allocation
from domain.errors import InsufficientStock, Shortage
from domain.events import ReservedUnits
from domain.inventory import Movement, StockKey, StockLevel, StockMovement, apply_movements
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


#: What a change to an order's reservations did: the units it gave back to sale (for the event)
#: and the stock movements it causes (for the stock levels, which the order applies).
Freed: TypeAlias = tuple[list[ReservedUnits], list[StockMovement]]


class Reservations(Sequence[Reservation]):
    """The reservations of one order, oldest first. Read like a list; changed only through the
    rules below, which return the stock movements instead of touching stock levels themselves."""

    def __init__(self, reservations: Iterable[Reservation] = ()) -> None:
        self._items = list(reservations)

    @overload
    def __getitem__(self, index: int) -> Reservation: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Reservation]: ...
    def __getitem__(self, index: int | slice) -> Reservation | Sequence[Reservation]:
        return self._items[index]

    def __iter__(self) -> Iterator[Reservation]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        # By contents, as the plain list it replaced: a deep copy taken before a refused command
        # still equals the order's reservations afterwards.
        if isinstance(other, Reservations):
            return self._items == other._items
        return self._items == other if isinstance(other, list) else NotImplemented

    __hash__: ClassVar[None]  # type: ignore[assignment]  # mutable, like the list it wraps

    def __repr__(self) -> str:
        return f"Reservations({self._items!r})"

    # -- reading -----------------------------------------------------------------------------

    def reserved(self, sku: str) -> int:
        """Units of `sku` currently held in stock (held or confirmed, not yet shipped)."""
        return sum(r.outstanding for r in self._active(sku))

    def stock_keys(self) -> set[StockKey]:
        """Every stock level any of these reservations ever touched."""
        return {r.key for r in self._items}

    @property
    def next_expiry(self) -> datetime | None:
        """When the earliest active reservation with an expiry expires, if any has one."""
        return min(
            (r.expires_at for r in self._items if r.is_active and r.expires_at), default=None
        )

    # -- changing ----------------------------------------------------------------------------

    def reserve(
        self,
        wanted: Iterable[tuple[str, int]],
        stock: Mapping[StockKey, StockLevel],
        priority: LocationPriority,
        new_id: Callable[[], UUID],
        *,
        all_or_nothing: bool,
    ) -> tuple[list[Reservation], tuple[Shortage, ...]]:
        """Hold the units of each `(sku, quantity)` not held yet, as far as `stock` allows, in
        location priority order; with `all_or_nothing`, hold nothing and raise `InsufficientStock`
        unless every unit fits. The plan reads the stock levels, so the holds are applied to them
        here, at once."""
        needs = [(sku, quantity - self.reserved(sku)) for sku, quantity in wanted]
        plan = plan_allocation([(sku, n) for sku, n in needs if n > 0], stock, priority)
        if all_or_nothing and not plan.is_complete:
            raise InsufficientStock(plan.shortages)
        created = [
            Reservation(id=new_id(), sku=key.sku, location=key.location, quantity=quantity)
            for key, quantity in plan.picks
        ]
        apply_movements(
            (StockMovement(r.key, Movement.RESERVE, r.quantity) for r in created), stock
        )
        self._items += created
        return created, plan.shortages

    def release_excess(self, keep: Mapping[str, int]) -> Freed:
        """Release the units of each SKU held beyond what `keep` says, the latest holds first."""
        released: list[ReservedUnits] = []
        movements: list[StockMovement] = []
        for sku, quantity in keep.items():
            excess = self.reserved(sku) - quantity
            for r in reversed(self._active(sku)):
                if excess <= 0:
                    break
                take = min(r.outstanding, excess)
                released.append(r.units(take))
                movements.append(r.release(take))
                excess -= take
        return released, movements

    def release_all(self) -> Freed:
        """Give every held or confirmed unit back to sale."""
        active = self._active()
        released = [r.units() for r in active]
        return released, [r.release() for r in active]

    def consume_for_shipment(self, shipped: Mapping[str, int], location: str) -> Freed:
        """Units per SKU left `location`: they use the holds there first; a hold elsewhere is no
        longer needed and is released; units nobody held leave that location's on-hand stock."""
        released: list[ReservedUnits] = []
        movements: list[StockMovement] = []
        for sku, quantity in shipped.items():
            active = self._active(sku)
            active.sort(key=lambda r: r.location != location)
            remaining = quantity
            for r in active:
                if remaining == 0:
                    break
                take = min(r.outstanding, remaining)
                if r.location == location:
                    movements.append(r.fulfil(take))
                else:  # shipped from elsewhere: this hold is no longer needed
                    released.append(r.units(take))
                    movements.append(r.release(take))
                    movements.append(
                        StockMovement(StockKey(sku, location), Movement.SHIP_UNRESERVED, take)
                    )
                remaining -= take
            if remaining:
                movements.append(
                    StockMovement(StockKey(sku, location), Movement.SHIP_UNRESERVED, remaining)
                )
        return released, movements

    def start_expiry(self, expires_at: datetime) -> None:
        """The order went on hold: unconfirmed holds expire at `expires_at` unless it resumes."""
        for r in self._held():
            r.start_expiry(expires_at)

    def stop_expiry(self) -> None:
        """The order came off hold: unconfirmed holds no longer expire."""
        for r in self._held():
            r.stop_expiry()

    def confirm_held(self) -> None:
        """The ERP booked the order: every unconfirmed hold becomes firm."""
        for r in self._held():
            r.confirm()

    def expire_due(self, now: datetime) -> Freed:
        """Unconfirmed holds whose expiry passed by `now` go back to sale (if none: no change)."""
        due = [r for r in self._held() if r.expires_at is not None and r.expires_at <= now]
        expired = [r.units() for r in due]
        return expired, [r.expire() for r in due]

    def _active(self, sku: str | None = None) -> list[Reservation]:
        return [r for r in self._items if r.is_active and (sku is None or r.sku == sku)]

    def _held(self) -> list[Reservation]:
        return [r for r in self._items if r.status is ReservationStatus.HELD]

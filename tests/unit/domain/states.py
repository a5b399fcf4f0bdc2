"""Orders, returns, reservations and payments brought into each of their states along a real path.

Every state is reached by calling the domain's public methods in the order the real flow calls
them (place, book, ship, capture, deliver, request a return, …); nothing here assigns a status.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from adapters.clock import FixedClock
from domain.allocation import LocationPriority
from domain.inventory import Movement, StockKey, StockLevel, StockMovement
from domain.money import Money
from domain.order import Order
from domain.order_lifecycle import OrderStatus
from domain.order_lines import build_lines
from domain.payment import Payment, PaymentStatus
from domain.reservation import Reservation, ReservationStatus
from domain.return_policy import ReturnPolicy
from domain.returns import Disposition, Return, ReturnLineSpec, ReturnStatus
from domain.state_machine import TransitionTable
from tests.factories import AddressFactory, LineSpecFactory, OrderFactory, PlaceOrderFactory

SKU = "MUG"
#: Where the stock is, first in the allocation priority.
HOME = "dc-east"
#: The second location: empty until stock arrives there.
ELSEWHERE = "dc-west"
PRIORITY = LocationPriority((HOME, ELSEWHERE))
HOLD_TTL = timedelta(minutes=30)
UNIT_PRICE = Decimal("19.99")
ORDERED = 2
ERP_REF = "ERP-1"
#: How far the clock moves between two steps of a path.
STEP = timedelta(minutes=1)


def spelled_out(table: TransitionTable[Any, Any]) -> dict[str, dict[str, set[str]]]:
    """A table as plain strings, to compare with the literal table a test writes out."""
    return {
        state.value: {command.value: {t.value for t in targets} for command, targets in row.items()}
        for state, row in table.rows.items()
    }


def values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


# -- orders ----------------------------------------------------------------------------------


@dataclass
class Shop:
    """An order, the stock levels its commands touch, and a clock that moves one step per command.

    Each method calls one public method of the order, the way the application's handler would, and
    returns the shop so that a path reads as a chain: `a_new_order().book().ship(2)`.
    """

    order: Order
    stock: dict[StockKey, StockLevel]
    clock: FixedClock
    return_id: UUID | None = None

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def tick(self) -> datetime:
        self.clock.advance(STEP)
        return self.clock.now()

    def level(self, location: str = HOME) -> StockLevel:
        return self.stock[StockKey(SKU, location)]

    def levels(self) -> dict[str, tuple[int, int]]:
        """`(on_hand, reserved)` of every stock level the order touches."""
        return {
            f"{key.sku}@{key.location}": (level.on_hand, level.reserved)
            for key, level in sorted(self.stock.items())
        }

    def observe(self) -> dict[str, Any]:
        """Everything a refused command must leave as it was: the whole order and its stock."""
        return {"order": deepcopy(vars(self.order)), "stock": self.levels()}

    # -- the world around the order ----------------------------------------------------------

    def stock_arrives(self, units: int, at: str = ELSEWHERE) -> Shop:
        """A warehouse snapshot raises on_hand; the order is not told until it reserves."""
        level = self.level(at)
        level.apply_snapshot(level.on_hand + units, (level.last_sequence or 0) + 1)
        return self

    def time_passes(self, delta: timedelta) -> Shop:
        self.clock.advance(delta)
        return self

    # -- order commands ----------------------------------------------------------------------

    def fill_backorder(self) -> Shop:
        self.order.fill_backorder(self.stock, PRIORITY, uuid4, self.tick())
        return self

    def book(self, erp_order_ref: str = ERP_REF) -> Shop:
        self.order.book(erp_order_ref, self.tick())
        return self

    def reject(self) -> Shop:
        self.order.reject_by_erp("customer account blocked", self.tick(), HOLD_TTL)
        return self

    def hold(self) -> Shop:
        self.order.hold("customer asked us to wait", self.tick(), HOLD_TTL)
        return self

    def resume(self) -> Shop:
        self.order.resume(self.tick(), self.stock, PRIORITY, uuid4)
        return self

    def amend_address(self) -> Shop:
        self.order.amend(now=self.tick(), stock=self.stock, shipping_address=AddressFactory())
        return self

    def amend_quantity(self, quantity: int) -> Shop:
        self.order.amend(now=self.tick(), stock=self.stock, quantities={SKU: quantity})
        return self

    def cancel(self) -> Shop:
        self.order.cancel("customer changed their mind", self.tick(), self.stock)
        return self

    def cancel_remaining(self) -> Shop:
        self.order.cancel_remaining("the rest is discontinued", self.tick(), self.stock)
        return self

    def ship(self, quantity: int, shipment_id: str | None = None) -> Shop:
        """Dispatch `quantity` units from HOME under the next shipment id (S1, S2, …)."""
        shipment_id = shipment_id or f"S{len(self.order.shipments) + 1}"
        now = self.tick()
        self.order.record_shipment(
            shipment_id=shipment_id,
            location=HOME,
            carrier="DHL",
            tracking_number=f"TRACK-{shipment_id}",
            lines=[(SKU, quantity)],
            dispatched_at=now,
            now=now,
            stock=self.stock,
        )
        return self

    def deliver(self, shipment_id: str = "S1") -> Shop:
        now = self.tick()
        self.order.record_delivery(shipment_id, now, now)
        return self

    def deliver_next(self) -> Shop:
        """Deliver the first shipment still on its way, or one that was never dispatched."""
        waiting = [s.id for s in self.order.shipments.values() if not s.is_delivered]
        return self.deliver(waiting[0] if waiting else "S-never-dispatched")

    def capture(self) -> Shop:
        self.order.capture_payment(self.tick())
        return self

    def fail_payment(self) -> Shop:
        self.order.fail_payment("card declined", self.tick(), HOLD_TTL)
        return self

    def expire_holds(self) -> Shop:
        """The expiry job runs once the TTL has passed."""
        self.time_passes(HOLD_TTL)
        self.order.expire_holds(self.tick(), self.stock)
        return self

    # -- returns -----------------------------------------------------------------------------

    @property
    def ret(self) -> Return:
        assert self.return_id is not None, "no return requested yet"
        return self.order.get_return(self.return_id)

    def request_return(self, *, auto_authorize: bool = True) -> Shop:
        self.return_id = uuid4()
        self.order.request_return(
            return_id=self.return_id,
            lines=[ReturnLineSpec(sku=SKU, quantity=1, reason="chipped")],
            policy=ReturnPolicy(auto_authorize=auto_authorize),
            rma_number="RMA-1",
            now=self.tick(),
        )
        return self

    def authorize_return(self, rma_number: str = "RMA-1") -> Shop:
        self.order.authorize_return(self.ret.id, rma_number, self.tick())
        return self

    def reject_return(self) -> Shop:
        self.order.reject_return(self.ret.id, "bought elsewhere", self.tick())
        return self

    def cancel_return(self) -> Shop:
        self.order.cancel_return(self.ret.id, self.tick())
        return self

    def receive_return(self) -> Shop:
        self.order.receive_return(self.ret.id, [(SKU, 1)], self.tick())
        return self

    def inspect_return(self) -> Shop:
        self.order.inspect_return(self.ret.id, {SKU: Disposition.RESTOCK}, self.tick(), self.stock)
        return self

    def post_credit_memo(self, ref: str = "CM-1", amount: Decimal | None = None) -> Shop:
        """Post a credit memo for `amount`; by default the refund the return computed."""
        due = self.ret.refund_amount or Money.of(UNIT_PRICE, self.order.currency)
        memo = due if amount is None else Money.of(amount, self.order.currency)
        self.order.post_credit_memo(self.ret.id, ref, memo, self.tick())
        return self

    def release_return_hold(self) -> Shop:
        self.order.release_return_hold(self.ret.id, self.tick())
        return self

    def accept_credit_memo(self) -> Shop:
        self.order.accept_credit_memo(self.ret.id, self.tick())
        return self

    def close_return(self) -> Shop:
        self.order.close_return(self.ret.id, self.tick())
        return self


def _stock(in_stock: int) -> dict[StockKey, StockLevel]:
    return {
        StockKey(SKU, HOME): StockLevel(SKU, HOME, on_hand=in_stock),
        StockKey(SKU, ELSEWHERE): StockLevel(SKU, ELSEWHERE, on_hand=0),
    }


def _place_command(quantity: int, allow_backorder: bool) -> Any:
    return PlaceOrderFactory(
        lines=(LineSpecFactory(sku=SKU, quantity=quantity, unit_price=UNIT_PRICE),),
        allow_backorder=allow_backorder,
    )


def a_new_order(
    *, quantity: int = ORDERED, in_stock: int | None = None, allow_backorder: bool = False
) -> Shop:
    """An order of `quantity` units of SKU placed through `Order.place`, with `in_stock` units at
    HOME (enough by default); it is `reserved`, or `backordered` when stock is short."""
    clock = FixedClock()
    stock = _stock(quantity if in_stock is None else in_stock)
    order = OrderFactory(
        command=_place_command(quantity, allow_backorder), stock=stock, clock=clock
    )
    return Shop(order, stock, clock)


def an_order_not_yet_reserved(*, in_stock: int = ORDERED) -> Shop:
    """An order in `placed`, loaded the way a repository loads one.

    `placed` lasts only inside `Order.place`, which reserves before it returns, so no public method
    leaves an order there; the constructor the repositories use is the one way to hold such an
    order, and it is built here exactly as `Order.place` builds it before reserving.
    """
    clock = FixedClock()
    command = _place_command(ORDERED, allow_backorder=True)
    order = Order(
        id=uuid4(),
        channel=command.channel,
        channel_order_ref=command.channel_order_ref,
        customer=command.customer,
        shipping_address=command.shipping_address,
        currency=command.currency,
        lines=build_lines(command.currency, command.lines),
        shipping_amount=Money.zero(command.currency),
        payment=Payment.authorize(
            command.payment_reference, Money.of(command.payment_amount, command.currency)
        ),
        allow_backorder=command.allow_backorder,
        created_at=clock.now(),
    )
    return Shop(order, _stock(in_stock), clock)


def a_backordered_order_whose_stock_arrived() -> Shop:
    """Backordered with one of two units reserved; the missing unit has since arrived ELSEWHERE."""
    return a_new_order(in_stock=1, allow_backorder=True).stock_arrives(ORDERED)


def a_delivered_order() -> Shop:
    """Booked, shipped whole in S1, paid (captured on first shipment) and delivered."""
    return a_new_order().book().ship(ORDERED).capture().deliver()


#: One real path into every order state.
ORDER_PATHS: dict[OrderStatus, Callable[[], Shop]] = {
    OrderStatus.PLACED: an_order_not_yet_reserved,
    OrderStatus.RESERVED: a_new_order,
    OrderStatus.BACKORDERED: a_backordered_order_whose_stock_arrived,
    OrderStatus.BOOKED: lambda: a_new_order().book(),
    # Shipped, its capture not done yet: the moment a declined card puts it on hold.
    OrderStatus.PARTIALLY_SHIPPED: lambda: a_new_order().book().ship(1),
    OrderStatus.SHIPPED: lambda: a_new_order().book().ship(ORDERED),
    OrderStatus.DELIVERED: a_delivered_order,
    OrderStatus.ON_HOLD: lambda: a_new_order().hold(),
    OrderStatus.CANCELLED: lambda: a_new_order().cancel(),
}


def order_in(status: OrderStatus) -> Shop:
    shop = ORDER_PATHS[status]()
    assert shop.order.status is status, f"the path to {status} ended in {shop.order.status}"
    return shop


#: One real path into every return state, on a delivered and paid order of two units.
RETURN_PATHS: dict[ReturnStatus, Callable[[], Shop]] = {
    ReturnStatus.REQUESTED: lambda: a_delivered_order().request_return(auto_authorize=False),
    ReturnStatus.AUTHORIZED: lambda: a_delivered_order().request_return(),
    ReturnStatus.REJECTED: lambda: (
        a_delivered_order().request_return(auto_authorize=False).reject_return()
    ),
    ReturnStatus.CANCELLED: lambda: a_delivered_order().request_return().cancel_return(),
    ReturnStatus.RECEIVED: lambda: a_delivered_order().request_return().receive_return(),
    ReturnStatus.INSPECTED: lambda: (
        a_delivered_order().request_return().receive_return().inspect_return()
    ),
    ReturnStatus.ON_HOLD: lambda: (
        a_delivered_order()
        .request_return()
        .receive_return()
        .inspect_return()
        .post_credit_memo("CM-WRONG", Decimal("5.00"))
    ),
    ReturnStatus.REFUNDED: lambda: (
        a_delivered_order().request_return().receive_return().inspect_return().post_credit_memo()
    ),
    ReturnStatus.CLOSED: lambda: (
        a_delivered_order()
        .request_return()
        .receive_return()
        .inspect_return()
        .post_credit_memo()
        .close_return()
    ),
}


def return_in(status: ReturnStatus) -> Shop:
    shop = RETURN_PATHS[status]()
    assert shop.ret.status is status, f"the path to {status} ended in {shop.ret.status}"
    return shop


# -- reservations ----------------------------------------------------------------------------


@dataclass
class Shelf:
    """One reservation and the stock level it holds units on; the movements a reservation returns
    are applied to the level, as the order applies them."""

    reservation: Reservation
    level: StockLevel
    clock: FixedClock

    def observe(self) -> dict[str, Any]:
        return {
            "reservation": deepcopy(self.reservation),
            "stock": (self.level.on_hand, self.level.reserved),
        }

    def _apply(self, movement: StockMovement) -> Shelf:
        self.level.apply(movement)
        return self

    def confirm(self) -> Shelf:
        self.reservation.confirm()
        return self

    def start_expiry(self) -> Shelf:
        self.reservation.start_expiry(self.clock.now() + HOLD_TTL)
        return self

    def stop_expiry(self) -> Shelf:
        self.reservation.stop_expiry()
        return self

    def fulfil(self, quantity: int) -> Shelf:
        return self._apply(self.reservation.fulfil(quantity))

    def release(self, quantity: int | None = None) -> Shelf:
        return self._apply(self.reservation.release(quantity))

    def expire(self) -> Shelf:
        return self._apply(self.reservation.expire())


def a_reservation(quantity: int = ORDERED) -> Shelf:
    """`quantity` units held at HOME, reserved in the level the way an order's allocation does."""
    level = StockLevel(SKU, HOME, on_hand=5)
    reservation = Reservation(id=uuid4(), sku=SKU, location=HOME, quantity=quantity)
    level.apply(StockMovement(reservation.key, Movement.RESERVE, quantity))
    return Shelf(reservation, level, FixedClock())


#: One real path into every reservation state: booked, shipped, cancelled, expired on hold.
RESERVATION_PATHS: dict[ReservationStatus, Callable[[], Shelf]] = {
    ReservationStatus.HELD: a_reservation,
    ReservationStatus.CONFIRMED: lambda: a_reservation().confirm(),
    ReservationStatus.FULFILLED: lambda: a_reservation().confirm().fulfil(ORDERED),
    ReservationStatus.RELEASED: lambda: a_reservation().release(),
    ReservationStatus.EXPIRED: lambda: a_reservation().start_expiry().expire(),
}


def reservation_in(status: ReservationStatus) -> Shelf:
    shelf = RESERVATION_PATHS[status]()
    assert shelf.reservation.status is status
    return shelf


# -- payments --------------------------------------------------------------------------------

AUTHORIZED = Money.of("50.00", "EUR")


def an_authorized_payment() -> Payment:
    return Payment.authorize("pay_000001", AUTHORIZED)


def a_captured_payment() -> Payment:
    payment = an_authorized_payment()
    payment.capture(AUTHORIZED)
    return payment


def a_partly_refunded_payment() -> Payment:
    payment = a_captured_payment()
    payment.refund(Money.of("20.00", "EUR"))
    return payment


def a_refunded_payment() -> Payment:
    payment = a_captured_payment()
    payment.refund(AUTHORIZED)
    return payment


def a_failed_payment() -> Payment:
    payment = an_authorized_payment()
    payment.fail()
    return payment


def a_voided_payment() -> Payment:
    payment = an_authorized_payment()
    payment.void()
    return payment


#: One real path into every payment state.
PAYMENT_PATHS: dict[PaymentStatus, Callable[[], Payment]] = {
    PaymentStatus.AUTHORIZED: an_authorized_payment,
    PaymentStatus.CAPTURED: a_captured_payment,
    PaymentStatus.PARTIALLY_REFUNDED: a_partly_refunded_payment,
    PaymentStatus.REFUNDED: a_refunded_payment,
    PaymentStatus.FAILED: a_failed_payment,
    PaymentStatus.VOIDED: a_voided_payment,
}


def payment_in(status: PaymentStatus) -> Payment:
    payment = PAYMENT_PATHS[status]()
    assert payment.status is status
    return payment


def every_target(table: dict[str, dict[str, set[str]]]) -> list[tuple[str, str, str]]:
    """Every (state, command, target) a spelled-out transition table allows."""
    return [
        (state, command, target)
        for state, row in table.items()
        for command, targets in row.items()
        for target in sorted(targets)
    ]

"""Every order command in every order state: what the table allows happens, the rest is refused."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from itertools import product

import pytest

from domain.errors import InvalidTransition, ShipmentConflict
from domain.events import (
    InventoryReserved,
    OrderAmended,
    OrderBooked,
    OrderCancelled,
    OrderEvent,
    OrderHeld,
    OrderRejectedByErp,
    OrderResumed,
    PaymentFailed,
    RemainderCancelled,
    ReservationExpired,
    ShipmentDelivered,
    ShipmentDispatched,
)
from domain.money import Money
from domain.order_lifecycle import ORDER_TRANSITIONS, OrderCommand, OrderStatus
from domain.payment import PaymentStatus
from domain.reservation import ReservationStatus
from tests.unit.domain.states import (
    ERP_REF,
    HOME,
    ORDERED,
    SKU,
    Shop,
    a_new_order,
    an_order_not_yet_reserved,
    every_target,
    order_in,
    spelled_out,
    values,
)

_S, _C = OrderStatus, OrderCommand

#: Written out by hand: changing the order lifecycle means changing the code and this, on purpose.
EXPECTED_TABLE: dict[str, dict[str, set[str]]] = {
    "placed": {"reserve": {"reserved", "backordered"}},
    "reserved": {
        "book": {"booked"},
        "reject": {"on_hold"},
        "hold": {"on_hold"},
        "amend": {"reserved"},
        "cancel": {"cancelled"},
        "fail_payment": {"on_hold"},
    },
    "backordered": {
        "reserve": {"reserved", "backordered"},
        "hold": {"on_hold"},
        "amend": {"backordered", "reserved"},
        "cancel": {"cancelled"},
        "fail_payment": {"on_hold"},
    },
    "booked": {
        "ship": {"partially_shipped", "shipped"},
        "hold": {"on_hold"},
        "amend": {"booked"},
        "cancel": {"cancelled"},
        "fail_payment": {"on_hold"},
    },
    "partially_shipped": {
        "ship": {"partially_shipped", "shipped"},
        "deliver": {"partially_shipped"},
        "fail_payment": {"on_hold"},
        "cancel_remaining": {"shipped", "delivered"},
    },
    "shipped": {"deliver": {"shipped", "delivered"}, "fail_payment": {"on_hold"}},
    "delivered": {"fail_payment": {"on_hold"}},
    "on_hold": {
        "resume": {
            "reserved",
            "backordered",
            "booked",
            "partially_shipped",
            "shipped",
            "delivered",
        },
        "deliver": {"on_hold"},
        "book": {"on_hold"},
        "reject": {"on_hold"},
        "fail_payment": {"on_hold"},
        "amend": {"on_hold"},
        "cancel": {"cancelled"},
        "expire_holds": {"on_hold"},
    },
    "cancelled": {},
}

#: Each command as the application calls it. `book` names a reference the ERP never gave this
#: order; `ship` dispatches one unit; `deliver` the first shipment still on its way, if any.
COMMANDS: dict[OrderCommand, Callable[[Shop], object]] = {
    _C.RESERVE: Shop.fill_backorder,
    _C.BOOK: lambda shop: shop.book("ERP-2"),
    _C.REJECT: Shop.reject,
    _C.HOLD: Shop.hold,
    _C.RESUME: Shop.resume,
    _C.AMEND: Shop.amend_address,
    _C.CANCEL: Shop.cancel,
    _C.SHIP: lambda shop: shop.ship(1),
    _C.DELIVER: Shop.deliver_next,
    _C.FAIL_PAYMENT: Shop.fail_payment,
    _C.EXPIRE_HOLDS: Shop.expire_holds,
    _C.CANCEL_REMAINING: Shop.cancel_remaining,
}

#: The event each accepted command records (among possibly others).
RECORDS: dict[OrderCommand, type[OrderEvent]] = {
    _C.RESERVE: InventoryReserved,
    _C.BOOK: OrderBooked,
    _C.REJECT: OrderRejectedByErp,
    _C.HOLD: OrderHeld,
    _C.RESUME: OrderResumed,
    _C.AMEND: OrderAmended,
    _C.CANCEL: OrderCancelled,
    _C.SHIP: ShipmentDispatched,
    _C.DELIVER: ShipmentDelivered,
    _C.FAIL_PAYMENT: PaymentFailed,
    _C.EXPIRE_HOLDS: ReservationExpired,
    _C.CANCEL_REMAINING: RemainderCancelled,
}

EVERY_PAIR = list(product(OrderStatus, OrderCommand))
ALLOWED = [(s, c) for s, c in EVERY_PAIR if c.value in EXPECTED_TABLE[s.value]]
FORBIDDEN = [(s, c) for s, c in EVERY_PAIR if c.value not in EXPECTED_TABLE[s.value]]


def _ids(pairs: list[tuple[OrderStatus, OrderCommand]]) -> list[str]:
    return [f"{command}-when-{state}" for state, command in pairs]


def _assert_stock_matches_reservations(shop: Shop) -> None:
    """Each level reserves exactly what the order's active reservations hold there."""
    for key, level in shop.stock.items():
        held = sum(r.outstanding for r in shop.order.reservations if r.key == key and r.is_active)
        assert level.reserved == held, f"{key}: level reserves {level.reserved}, order holds {held}"


# -- the table itself ------------------------------------------------------------------------


def test_orders_have_the_expected_states_and_commands() -> None:
    assert values(OrderStatus) == [
        "placed", "reserved", "backordered", "booked", "partially_shipped", "shipped",
        "delivered", "on_hold", "cancelled",
    ]  # fmt: skip
    assert values(OrderCommand) == [
        "reserve", "book", "reject", "hold", "resume", "amend", "cancel", "ship", "deliver",
        "fail_payment", "expire_holds", "cancel_remaining",
    ]  # fmt: skip


def test_the_order_table_is_the_expected_one() -> None:
    assert ORDER_TRANSITIONS.aggregate == "order"
    assert spelled_out(ORDER_TRANSITIONS) == EXPECTED_TABLE


def test_an_order_ends_only_when_cancelled_or_delivered_and_paid() -> None:
    # A delivered order leaves `delivered` only through a capture declined after the parcel
    # arrived (the payment table refuses it once captured).
    assert ORDER_TRANSITIONS.terminal_states() == {_S.CANCELLED}
    assert ORDER_TRANSITIONS.rows[_S.DELIVERED].keys() == {_C.FAIL_PAYMENT}


def test_every_order_command_has_a_way_to_run() -> None:
    assert set(COMMANDS) == set(OrderCommand) == set(RECORDS)


# -- every state × every command -------------------------------------------------------------


#: Where the usual path into a state cannot run a command the table allows there (a guard
#: decides), an order in that state that the guard lets through.
ALLOWED_FROM: dict[tuple[OrderStatus, OrderCommand], Callable[[], Shop]] = {
    # only an order held after it shipped hears of its deliveries
    (_S.ON_HOLD, _C.DELIVER): lambda: a_new_order().book().ship(ORDERED).fail_payment(),
    # the usual delivered order is paid; only one whose capture is still due can fail it
    (_S.DELIVERED, _C.FAIL_PAYMENT): lambda: a_new_order().book().ship(ORDERED).deliver(),
}


@pytest.mark.parametrize(("state", "command"), ALLOWED, ids=_ids(ALLOWED))
def test_a_command_the_table_allows_moves_the_order_to_one_of_its_targets(
    state: OrderStatus, command: OrderCommand
) -> None:
    shop = ALLOWED_FROM.get((state, command), lambda: order_in(state))()
    version, seen = shop.order.version, len(shop.order.events)

    COMMANDS[command](shop)

    assert shop.order.status.value in EXPECTED_TABLE[state.value][command.value]
    new = shop.order.events[seen:]
    assert RECORDS[command] in [type(e) for e in new]
    assert all(isinstance(e, OrderEvent) and e.order_id == shop.order.id for e in new)
    assert shop.order.version == version + len(new)
    _assert_stock_matches_reservations(shop)
    if shop.order.status in (_S.RESERVED, _S.BOOKED):
        assert shop.order.is_fully_reserved


@pytest.mark.parametrize(("state", "command"), FORBIDDEN, ids=_ids(FORBIDDEN))
def test_a_command_the_table_forbids_is_refused_and_changes_nothing(
    state: OrderStatus, command: OrderCommand
) -> None:
    shop = order_in(state)
    version, events, levels = shop.order.version, list(shop.order.events), shop.levels()
    before = shop.observe()

    with pytest.raises(InvalidTransition) as refused:
        COMMANDS[command](shop)

    assert (refused.value.aggregate, refused.value.state, refused.value.command) == (
        "order",
        state.value,
        command.value,
    )
    assert shop.order.status is state
    assert shop.order.version == version
    assert shop.order.events == events
    assert shop.levels() == levels
    assert shop.observe() == before


# -- every target in the table is reached by some real path ----------------------------------

Scenario = tuple[Callable[[], Shop], Callable[[Shop], object]]

#: Where the state's usual path and the command's usual form reach another target than the one
#: in the key, this is how the real flow gets there.
OTHER_TARGETS: dict[tuple[str, str, str], Scenario] = {
    ("placed", "reserve", "backordered"): (
        lambda: an_order_not_yet_reserved(in_stock=1),
        Shop.fill_backorder,
    ),
    ("backordered", "reserve", "backordered"): (
        lambda: a_new_order(in_stock=0, allow_backorder=True).stock_arrives(1),
        Shop.fill_backorder,
    ),
    ("backordered", "amend", "backordered"): (
        lambda: a_new_order(in_stock=1, allow_backorder=True),
        Shop.amend_address,
    ),
    ("backordered", "amend", "reserved"): (
        lambda: a_new_order(in_stock=1, allow_backorder=True),
        lambda shop: shop.amend_quantity(1),
    ),
    ("booked", "ship", "shipped"): (lambda: a_new_order().book(), lambda s: s.ship(ORDERED)),
    ("partially_shipped", "ship", "partially_shipped"): (
        lambda: a_new_order(quantity=3).book().ship(1),
        lambda shop: shop.ship(1),
    ),
    ("shipped", "deliver", "shipped"): (
        lambda: a_new_order().book().ship(1).ship(1),
        Shop.deliver_next,
    ),
    ("on_hold", "resume", "backordered"): (
        lambda: a_new_order(in_stock=1, allow_backorder=True).hold(),
        Shop.resume,
    ),
    ("on_hold", "resume", "booked"): (lambda: a_new_order().book().hold(), Shop.resume),
    # A card declined at capture holds a shipped order; resumed, it is back where it was.
    ("on_hold", "resume", "partially_shipped"): (
        lambda: a_new_order(quantity=3).book().ship(1).fail_payment(),
        Shop.resume,
    ),
    ("on_hold", "resume", "shipped"): (
        lambda: a_new_order().book().ship(ORDERED).fail_payment(),
        Shop.resume,
    ),
    # The rest will never ship, and what shipped has all arrived: the order is done.
    ("partially_shipped", "cancel_remaining", "delivered"): (
        lambda: a_new_order().book().ship(1).deliver(),
        Shop.cancel_remaining,
    ),
    # Held after shipping, its parcels still arrive; resumed, it is where they brought it.
    ("on_hold", "deliver", "on_hold"): (
        lambda: a_new_order().book().ship(ORDERED).fail_payment(),
        Shop.deliver_next,
    ),
    # The capture waited (a provider outage) while the parcel arrived; then the card is declined.
    ("delivered", "fail_payment", "on_hold"): (
        lambda: a_new_order().book().ship(ORDERED).deliver(),
        Shop.fail_payment,
    ),
    ("on_hold", "resume", "delivered"): (
        lambda: a_new_order().book().ship(ORDERED).deliver().fail_payment(),
        Shop.resume,
    ),
}

EVERY_TARGET = every_target(EXPECTED_TABLE)


@pytest.mark.parametrize(
    ("state", "command", "target"),
    EVERY_TARGET,
    ids=[f"{c}-takes-{s}-to-{t}" for s, c, t in EVERY_TARGET],
)
def test_every_target_in_the_table_is_reached_by_a_real_path(
    state: str, command: str, target: str
) -> None:
    path, act = OTHER_TARGETS.get(
        (state, command, target),
        (lambda: order_in(OrderStatus(state)), COMMANDS[OrderCommand(command)]),
    )
    shop = path()
    assert shop.order.status == state
    act(shop)
    assert shop.order.status == target
    _assert_stock_matches_reservations(shop)


def test_placing_an_order_never_leaves_it_placed() -> None:
    assert a_new_order().order.status is _S.RESERVED
    assert a_new_order(in_stock=1, allow_backorder=True).order.status is _S.BACKORDERED


# -- holds come back to where they were ------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "back_to"),
    [
        (lambda: a_new_order().hold(), _S.RESERVED),
        (lambda: a_new_order().reject(), _S.RESERVED),
        (lambda: a_new_order().fail_payment(), _S.RESERVED),
        (lambda: a_new_order(in_stock=1, allow_backorder=True).hold(), _S.BACKORDERED),
        (lambda: a_new_order().book().hold(), _S.BOOKED),
        (lambda: a_new_order().book().fail_payment(), _S.BOOKED),
        (lambda: a_new_order().hold().book(), _S.BOOKED),
    ],
    ids=[
        "held-when-reserved",
        "rejected-by-the-erp",
        "payment-failed-when-reserved",
        "held-when-backordered",
        "held-when-booked",
        "payment-failed-when-booked",
        "booked-by-the-erp-while-held",
    ],
)
def test_resuming_a_held_order_takes_it_back_where_it_was(
    path: Callable[[], Shop], back_to: OrderStatus
) -> None:
    shop = path()
    assert shop.order.status is _S.ON_HOLD
    seen = len(shop.order.events)
    shop.resume()
    assert shop.order.status is back_to
    assert OrderResumed in [type(e) for e in shop.order.events[seen:]]


def test_a_held_order_booked_before_the_hold_refuses_another_erp_reference() -> None:
    shop = a_new_order().book().hold()
    before = shop.observe()

    with pytest.raises(InvalidTransition) as refused:
        shop.book("ERP-2")

    assert (refused.value.state, refused.value.command) == ("on_hold", "book")
    assert shop.observe() == before


# -- harmless repeats: no event, no new version ----------------------------------------------


def _assert_no_op(shop: Shop, repeat: Callable[[Shop], object]) -> None:
    before = shop.observe()
    version, seen = shop.order.version, len(shop.order.events)
    repeat(shop)
    assert shop.order.version == version
    assert len(shop.order.events) == seen
    # the clock moved, but nothing the order holds did (not even `updated_at`)
    assert shop.observe() == before


@pytest.mark.parametrize(
    "path",
    [
        lambda: a_new_order().book(),
        lambda: a_new_order().book().hold(),
        lambda: a_new_order().hold().book(),
        lambda: a_new_order().book().ship(1),
        lambda: a_new_order().book().ship(ORDERED).deliver(),
        lambda: a_new_order().book().cancel(),
    ],
    ids=[
        "booked",
        "held-after-booking",
        "booked-while-held",
        "partially-shipped",
        "delivered",
        "cancelled-after-booking",
    ],
)
def test_booking_again_with_the_same_erp_reference_changes_nothing(
    path: Callable[[], Shop],
) -> None:
    _assert_no_op(path(), lambda shop: shop.book(ERP_REF))


@pytest.mark.parametrize(
    "path",
    [
        lambda: a_new_order().book().ship(1),
        lambda: a_new_order().book().ship(ORDERED),
        lambda: a_new_order().book().ship(ORDERED).capture().deliver(),
    ],
    ids=["partially-shipped", "shipped", "delivered"],
)
def test_a_shipment_reported_again_with_the_same_contents_changes_nothing(
    path: Callable[[], Shop],
) -> None:
    shop = path()
    first = shop.order.shipments["S1"]
    _assert_no_op(shop, lambda s: s.ship(first.lines[SKU], "S1"))


def test_a_shipment_reported_again_with_other_contents_is_refused_and_changes_nothing() -> None:
    shop = a_new_order().book().ship(1)
    before = shop.observe()

    with pytest.raises(ShipmentConflict):
        shop.ship(ORDERED, "S1")

    assert shop.observe() == before


@pytest.mark.parametrize(
    "path",
    [
        lambda: a_new_order().book().ship(ORDERED).deliver(),
        lambda: a_new_order().book().ship(1).deliver(),
        lambda: a_new_order().book().ship(1).ship(1).deliver(),
    ],
    ids=["delivered", "partially-shipped", "shipped-with-another-shipment-on-its-way"],
)
def test_a_delivery_reported_again_changes_nothing(path: Callable[[], Shop]) -> None:
    _assert_no_op(path(), lambda shop: shop.deliver("S1"))


def test_capturing_the_captured_amount_again_changes_nothing() -> None:
    shop = a_new_order().book().ship(1).capture()
    assert shop.order.payment.status is PaymentStatus.CAPTURED

    _assert_no_op(shop, Shop.capture)
    _assert_no_op(shop, lambda s: s.order.capture_payment(s.tick(), s.order.total))


def test_capturing_another_amount_after_the_capture_is_refused_and_changes_nothing() -> None:
    shop = a_new_order().book().ship(1).capture()
    before = shop.observe()

    with pytest.raises(InvalidTransition) as refused:
        shop.order.capture_payment(shop.tick(), Money.of(Decimal("1.00"), "EUR"))

    assert (refused.value.aggregate, refused.value.state, refused.value.command) == (
        "payment",
        "captured",
        "capture",
    )
    assert shop.observe() == before


@pytest.mark.parametrize("state", [_S.RESERVED, _S.BOOKED, _S.ON_HOLD, _S.CANCELLED])
def test_cannot_capture_the_payment_before_the_first_shipment(state: OrderStatus) -> None:
    shop = order_in(state)
    before = shop.observe()

    with pytest.raises(InvalidTransition) as refused:
        shop.capture()

    assert (refused.value.state, refused.value.command) == (state.value, "capture_payment")
    assert shop.observe() == before


def test_stock_that_does_not_arrive_leaves_a_backorder_as_it_is() -> None:
    _assert_no_op(a_new_order(in_stock=1, allow_backorder=True), Shop.fill_backorder)


def test_holds_not_yet_due_do_not_expire() -> None:
    shop = a_new_order().hold()
    _assert_no_op(shop, lambda s: s.order.expire_holds(s.tick(), s.stock))


def test_holds_the_erp_confirmed_never_expire() -> None:
    shop = a_new_order().hold().book()
    _assert_no_op(shop, Shop.expire_holds)
    assert all(r.status is ReservationStatus.CONFIRMED for r in shop.order.reservations)


def test_linking_the_same_case_again_changes_nothing() -> None:
    shop = a_new_order()
    shop.order.link_case("500C10000000000", shop.tick())
    _assert_no_op(shop, lambda s: s.order.link_case("500C10000000000", s.tick()))


# -- paths through on_hold that the table allows but the order mishandles --------------------


def test_resuming_an_order_the_erp_booked_after_its_holds_expired_reserves_its_stock_again() -> (
    None
):
    # Held, the holds expire and the units go back to sale; then the ERP's answer to the earlier
    # submission arrives. Resume goes back to `booked`: the order must hold its units again.
    shop = a_new_order().hold().expire_holds()
    assert shop.level().reserved == 0
    shop.book().resume()

    assert shop.order.status is _S.BOOKED
    assert shop.order.reserved(SKU) == ORDERED
    assert shop.level(HOME).reserved == ORDERED
    assert shop.order.is_fully_reserved


def test_a_payment_that_fails_again_after_resume_puts_the_order_back_on_hold() -> None:
    shop = a_new_order().fail_payment().resume()
    assert (shop.order.status, shop.order.payment.status) == (_S.RESERVED, PaymentStatus.FAILED)

    shop.fail_payment()

    assert shop.order.status is _S.ON_HOLD
    assert isinstance(shop.order.events[-1], PaymentFailed)


def test_a_payment_failure_reported_while_held_for_a_payment_failure_keeps_the_order_held() -> None:
    shop = a_new_order().fail_payment()

    shop.fail_payment()

    assert shop.order.status is _S.ON_HOLD
    assert shop.order.payment.status is PaymentStatus.FAILED


def test_a_paid_delivered_order_refuses_a_payment_failure_and_stays_delivered() -> None:
    shop = order_in(_S.DELIVERED)
    assert shop.order.payment.status is PaymentStatus.CAPTURED

    with pytest.raises(InvalidTransition) as refused:
        shop.fail_payment()

    assert refused.value.aggregate == "payment"
    assert shop.order.status is _S.DELIVERED


def test_a_card_declined_after_delivery_holds_the_order_and_resume_brings_it_back_delivered() -> (
    None
):
    shop = a_new_order().book().ship(ORDERED).deliver().fail_payment()
    assert (shop.order.status, shop.order.resume_to) == (_S.ON_HOLD, _S.DELIVERED)

    shop.resume()

    assert shop.order.status is _S.DELIVERED
    assert (shop.order.hold_reason, shop.order.resume_to) == (None, None)
    assert isinstance(shop.order.events[-1], OrderResumed)

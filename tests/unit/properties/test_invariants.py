"""Random command sequences through the hub never break stock, order, payment or return invariants.

Two state machines drive the application on in-memory fakes (`tests.hub.Hub`) with domain commands:
one from stock and fresh orders, one from orders already delivered and paid (so returns and refunds
get deep). After every rule each `@invariant` is checked. Besides, every command is checked as it
runs: a `DomainError` is a legal answer to a random command, but the refused command must have
changed nothing; an accepted command that makes units available again must offer them to
backorders; any other exception is a bug. Rules mostly pick an order or return in a status the
command expects, and sometimes any one, so illegal transitions are tried too.

Orders carry tax on some lines, channels add lines (before booking, or to a booked order the ERP may refuse them for) under a new
authorization, and
agents appease (refund without a return) under a few
Idempotency-Keys: refunded ≤ captured, the total is the lines with their tax plus shipping, and
no refund id is issued twice. Checked to fail when the domain issues a refund id again or leaves
tax out of the total (by breaking each on purpose).

Some returns are exchanges (paid for the difference when dearer), and a rule places their
replacements (sometimes twice, as a redelivery would): a replacement joins the orders every rule
drives, an exchange has at most one, and a refunded exchange paid back only what its replacement
left (checked to fail when the domain refunds an exchange's whole credit memo).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from itertools import count
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from adapters.message_codec import MsgspecCodec
from application.settings import HubSettings
from domain import commands as c
from domain.allocation import LocationPriority
from domain.errors import DomainError, ExchangePaymentRequired
from domain.events import AppeasementIssued, LinesAdded, RefundRecorded
from domain.exchange import ExchangeOutcome
from domain.inventory import StockKey
from domain.order import Order
from domain.order_lifecycle import OrderStatus
from domain.order_lines import LineSpec
from domain.return_policy import ReturnPolicies, ReturnPolicy
from domain.returns import Disposition, Return, ReturnLineSpec, ReturnStatus
from entrypoints.http.refunds import refund_id
from read_models.order_view import fold
from tests.factories import AddressFactory, PlaceOrderFactory
from tests.hub import Hub
from tests.unit.properties.store_view import (
    available_by_sku,
    fingerprint,
    levels_with_reported_shortfall,
    reserved_by_orders,
    skus_offered_to_backorders,
    versions_by_stream,
)

SKUS = ("SKU-A", "SKU-B", "SKU-C")
#: dc-east and dc-west are the configured priority; store-12 comes after them.
LOCATIONS = ("dc-east", "dc-west", "store-12")
PRICES = (Decimal("0.00"), Decimal("0.01"), Decimal("7.35"), Decimal("19.99"))
#: Tax per unit: mostly none (orders without tax), sometimes a cent or a real rate's worth.
TAXES = (Decimal("0.00"), Decimal("0.00"), Decimal("0.01"), Decimal("1.47"))
#: The Idempotency-Keys agents send their appeasements under: few, so that retries happen.
APPEASEMENT_KEYS = ("goodwill-1", "goodwill-2", "goodwill-3")
CHANNELS = ("web", "pos", "b2b")
SETTINGS = HubSettings(
    location_priority=LocationPriority(("dc-east", "dc-west")),
    reservation_ttl=timedelta(minutes=30),
    return_policies=ReturnPolicies(
        by_channel={
            "pos": ReturnPolicy(restocking_fee_percent=Decimal("12.5"), refund_shipping=True),
            "b2b": ReturnPolicy(
                window_days=14, non_returnable_skus=frozenset({"SKU-C"}), auto_authorize=False
            ),
        }
    ),
)


def place_order(
    channel: str,
    lines: list[tuple[str, int, Decimal, Decimal]],
    allow_backorder: bool,
    shipping: Decimal,
) -> c.PlaceOrder:
    """A valid order whose payment covers it; `lines` are (sku, quantity, unit price, unit tax)."""
    return PlaceOrderFactory(
        channel=channel,
        lines=tuple(
            LineSpec(sku=s, quantity=q, unit_price=p, tax_amount=t) for s, q, p, t in lines
        ),
        allow_backorder=allow_backorder,
        shipping_amount=shipping,
    )


ORDERS = st.builds(
    place_order,
    channel=st.sampled_from(CHANNELS),
    lines=st.lists(
        st.tuples(
            st.sampled_from(SKUS),
            st.integers(1, 3),
            st.sampled_from(PRICES),
            st.sampled_from(TAXES),
        ),
        min_size=1,
        max_size=3,
        unique_by=lambda line: line[0],
    ),
    allow_backorder=st.booleans(),
    shipping=st.sampled_from((Decimal("0.00"), Decimal("4.95"))),
)

#: Replacement lines of an exchange (mostly none: a plain return).
EXCHANGE_LINES = st.builds(
    LineSpec,
    sku=st.sampled_from(SKUS),
    quantity=st.integers(1, 2),
    unit_price=st.sampled_from(PRICES),
    tax_amount=st.sampled_from(TAXES),
)

#: Four times in five (and shrinking towards true); `RARELY` is its opposite.
USUALLY = st.sampled_from((True, True, True, True, False))
RARELY = st.sampled_from((False, False, False, False, True))

_S, _R = OrderStatus, ReturnStatus
_BEFORE_SHIPMENT = (_S.RESERVED, _S.BACKORDERED, _S.BOOKED, _S.ON_HOLD)
_SHIPPED = (_S.PARTIALLY_SHIPPED, _S.SHIPPED, _S.DELIVERED)
#: Orders in these states were fully reserved and keep a reservation for every unshipped unit.
_FULLY_RESERVED = frozenset({_S.RESERVED, _S.BOOKED, _S.PARTIALLY_SHIPPED, _S.SHIPPED})
_REFUNDED = frozenset({_R.REFUNDED, _R.CLOSED})
#: Returns the warehouse has counted, and returns that take no units at all.
_COUNTED = frozenset({_R.RECEIVED, _R.INSPECTED, _R.ON_HOLD, _R.REFUNDED, _R.CLOSED})
_GIVEN_UP = frozenset({_R.REJECTED, _R.CANCELLED})
#: The next steps of a return in each status (receiving twice as likely as giving up).
_RETURN_STEPS = {
    _R.REQUESTED: ("authorize", "reject", "cancel"),
    _R.AUTHORIZED: ("receive", "receive", "reject", "cancel"),
    _R.RECEIVED: ("inspect",),
    _R.INSPECTED: ("credit memo",),
    _R.ON_HOLD: ("release hold",),
    _R.REFUNDED: ("close",),
}
_ANY_STEP = tuple(sorted({step for steps in _RETURN_STEPS.values() for step in steps}))

#: Where `advance_an_order` takes an order next: booked, shipped, delivered, returned.
_ADVANCING = (_S.RESERVED, _S.BOOKED, _S.PARTIALLY_SHIPPED, _S.SHIPPED, _S.DELIVERED)

#: What the payment provider reports captured: the default (what the order costs now), the order
#: total, half of it (returns may then ask for more than was captured), or too much (refused).
CAPTURES = ("default", "order total", "half", "too much")


def capture_amount(order: Order, how: str) -> Decimal | None:
    """The amount a `CapturePayment` names (None: what the order costs now)."""
    return {
        "default": None,
        "order total": order.total.amount,
        "half": (order.total.amount / 2).quantize(Decimal("0.01")),
        "too much": order.payment.authorized.amount + Decimal("0.01"),
    }[how]


def _can_advance(order: Order) -> bool:
    """Whether `advance_an_order` has a next step for the order."""
    if order.status is _S.DELIVERED:
        return bool(_open_returns(order)) or any(order.returnable(ln.sku) for ln in order.lines)
    return order.status in _ADVANCING


def _paid_back(ret: Return) -> Decimal:
    """What a refunded return paid back: its refund, less (for an exchange) what paid for the
    replacement, never below zero (docs/money.md, "Exchanges")."""
    refund = ret.refund_amount.amount if ret.refund_amount else Decimal(0)
    credit = ret.exchange.credit if ret.exchange and ret.exchange.credit else None
    return max(refund - credit.amount, Decimal(0)) if credit is not None else refund


def _replacement_due(ret: Return) -> bool:
    """An exchange received in full whose replacement is not placed yet."""
    x = ret.exchange
    return x is not None and x.outcome is ExchangeOutcome.REPLACED and not x.replacement_order_id


def _open_returns(order: Order) -> list[Return]:
    """Returns of the order that have a next step, oldest first."""
    return [r for r in order.returns.values() if r.status in _RETURN_STEPS]


class HubMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.hub = Hub(SETTINGS)
        self.order_ids: list[UUID] = []
        self.return_ids: list[UUID] = []
        self.numbers = count(1)
        #: True when no command changed anything since the hub's reactions were last drained.
        self.quiet = True
        #: Each order's view as last folded, and how many of its events that took.
        self.views: dict[UUID, tuple[dict[str, Any] | None, int]] = {}
        self.codec = MsgspecCodec()

    def teardown(self) -> None:
        self.loop.close()

    # -- driving the hub ---------------------------------------------------------------------

    def execute(self, command: c.Command) -> tuple[bool, Any]:
        """Run `command` in its own unit of work. A refusal must leave the store as it was; an
        accepted command that makes units of a SKU available again must offer them to backorders
        (PRODUCT.md 2.1, and `application/reactions.py`: units going back to available stock are
        offered to backorders)."""
        store = self.hub.store
        before, available, events = fingerprint(store), available_by_sku(store), len(store.outbox)
        try:
            result = self.loop.run_until_complete(self.hub.run(command))
        except DomainError as refused:
            result = refused
        if isinstance(result, DomainError):
            assert fingerprint(store) == before, (
                f"{type(command).__name__} was refused ({result.code}) but changed the store"
            )
            return False, result
        self.quiet = False
        offered = skus_offered_to_backorders(store.outbox[events:])
        for sku, now in available_by_sku(store).items():
            was = available.get(sku, 0)
            assert now <= was or sku in offered, (
                f"{type(command).__name__} made {sku} available ({was} -> {now}) "
                "without offering it to backorders"
            )
        return True, result

    def order(self, order_id: UUID) -> Order:
        return self.hub.order(order_id)

    def view(self, order_id: UUID) -> dict[str, Any]:
        """The order's view folded from its events, the new ones onto the last fold."""
        document, folded = self.views.get(order_id, (None, 0))
        envelopes = self.hub.events(order_id)
        for envelope in envelopes[folded:]:
            document = fold(document, self.codec.encode(envelope))
        assert document is not None
        self.views[order_id] = (document, len(envelopes))
        return document

    def ret(self, return_id: UUID) -> Return:
        order = next(o for o in self.hub.store.orders.values() if return_id in o.returns)
        return order.returns[return_id]

    def any_order(self, *statuses: OrderStatus) -> bool:
        return any(self.order(i).status in statuses for i in self.order_ids)

    def any_return(self, *statuses: ReturnStatus) -> bool:
        return any(self.ret(i).status in statuses for i in self.return_ids)

    def pick_order(self, data: st.DataObject, *statuses: OrderStatus) -> Order:
        """Mostly an order in a status the command expects, sometimes any order."""
        fitting = [i for i in self.order_ids if self.order(i).status in statuses]
        pool = fitting if fitting and data.draw(USUALLY, label="fits") else self.order_ids
        return self.order(data.draw(st.sampled_from(pool), label="order"))

    def pick_return(self, data: st.DataObject, *statuses: ReturnStatus) -> Return:
        """Mostly a return in a status the command expects, sometimes any return."""
        fitting = [i for i in self.return_ids if self.ret(i).status in statuses]
        pool = fitting if fitting and data.draw(USUALLY, label="fits") else self.return_ids
        return self.ret(data.draw(st.sampled_from(pool), label="return"))

    def time_matters(self) -> bool:
        """Holds expire 30 minutes on hold; return windows close 14 or 30 days after delivery."""
        window_closes = self.hub.clock.now() - timedelta(days=30)
        for order in map(self.order, self.order_ids):
            if order.status is _S.ON_HOLD and order.next_hold_expiry is not None:
                return True
            if any(
                s.delivered_at and s.delivered_at > window_closes for s in order.shipments.values()
            ):
                return True
        return False

    def next_ref(self, prefix: str) -> str:
        return f"{prefix}-{next(self.numbers)}"

    # -- stock and time ----------------------------------------------------------------------

    @initialize(
        quantities=st.lists(st.integers(0, 3), min_size=6, max_size=6),
        orders=st.lists(ORDERS, min_size=1, max_size=3),
    )
    def open_for_business(self, quantities: list[int], orders: list[c.PlaceOrder]) -> None:
        """Stock at dc-east and dc-west, then the first orders (so every run has some)."""
        keys = [(sku, location) for sku in SKUS for location in LOCATIONS[:2]]
        for (sku, location), on_hand in zip(keys, quantities, strict=True):
            self.execute(
                c.ApplyStockSnapshot(sku=sku, location=location, on_hand=on_hand, sequence=1)
            )
        for command in orders:
            self.place(command, used_ref=0)

    @rule(
        sku=st.sampled_from(SKUS),
        location=st.sampled_from(LOCATIONS),
        how=st.sampled_from(("snapshot", "stale snapshot", "adjustment")),
        quantity=st.integers(-3, 4),
    )
    def count_stock(self, sku: str, location: str, how: str, quantity: int) -> None:
        """The warehouse reports a count (`|quantity|` on hand) or a delta (0 is refused)."""
        if how == "adjustment":
            self.execute(c.AdjustStock(sku=sku, location=location, delta=quantity, reason="count"))
            return
        level = self.hub.store.stock.get(StockKey(sku, location))
        last = level.last_sequence if level and level.last_sequence is not None else 0
        sequence = last if how == "stale snapshot" else last + 1
        self.execute(
            c.ApplyStockSnapshot(
                sku=sku, location=location, on_hand=abs(quantity), sequence=sequence
            )
        )

    @precondition(lambda self: self.time_matters())
    @rule(wait=st.sampled_from((timedelta(minutes=10), timedelta(minutes=31), timedelta(days=20))))
    def time_passes(self, wait: timedelta) -> None:
        """Then the expiry job runs."""
        self.hub.clock.advance(wait)
        self.execute(c.ExpireReservations())

    @precondition(lambda self: not self.quiet)
    @rule()
    def drain_reactions(self) -> None:
        self.loop.run_until_complete(self.hub.drain())
        self.quiet = True

    # -- channels and agents -----------------------------------------------------------------

    @rule(command=ORDERS, used_ref=st.integers(0, 9))
    def place(self, command: c.PlaceOrder, used_ref: int) -> None:
        """Sometimes (used_ref == 9) under the reference of an existing order: refused."""
        duplicate = used_ref == 9 and self.order_ids
        if duplicate:
            existing = self.order(self.order_ids[0])
            command = PlaceOrderFactory(
                channel=existing.channel,
                channel_order_ref=existing.channel_order_ref,
                lines=command.lines,
                allow_backorder=True,
            )
        done, order_id = self.execute(command)
        assert not (done and duplicate), "a second order under one channel reference was accepted"
        if done:
            self.order_ids.append(order_id)

    @precondition(lambda self: self.any_order(*_BEFORE_SHIPMENT))
    @rule(data=st.data(), new_address=st.booleans())
    def amend(self, data: st.DataObject, new_address: bool) -> None:
        order = self.pick_order(data, *_BEFORE_SHIPMENT)
        lines = data.draw(
            st.lists(st.sampled_from(order.lines), max_size=2, unique_by=lambda ln: ln.sku),
            label="lines",
        )
        # up to one more than ordered: an amend may only reduce
        changes = tuple(
            c.SkuCount(sku=ln.sku, quantity=data.draw(st.integers(0, ln.quantity + 1)))
            for ln in lines
        )
        address = AddressFactory() if new_address else None
        self.execute(c.AmendOrder(order_id=order.id, lines=changes, shipping_address=address))

    @precondition(lambda self: self.any_order(_S.RESERVED, _S.BACKORDERED, _S.BOOKED))
    @rule(
        data=st.data(),
        quantity=st.integers(1, 3),
        price=st.sampled_from(PRICES),
        tax=st.sampled_from(TAXES),
        short=RARELY,
    )
    def add_a_line(
        self, data: st.DataObject, quantity: int, price: Decimal, tax: Decimal, short: bool
    ) -> None:
        """A SKU the order lacks (or, sometimes, one it has), under a new authorization for the
        new total (or, sometimes, a cent short of it)."""
        order = self.pick_order(data, _S.RESERVED, _S.BACKORDERED, _S.BOOKED)
        have = {ln.sku for ln in order.lines}
        missing = [s for s in SKUS if s not in have] or list(SKUS)
        sku = data.draw(st.sampled_from(missing), label="sku")
        amount = order.total.amount + quantity * (price + tax) - (Decimal("0.01") if short else 0)
        self.execute(
            c.AddLines(
                order_id=order.id,
                lines=(LineSpec(sku=sku, quantity=quantity, unit_price=price, tax_amount=tax),),
                payment_reference=self.next_ref("pay"),
                payment_amount=amount,
            )
        )

    @precondition(lambda self: self.booked_edits())
    @rule(data=st.data())
    def the_erp_refuses_added_lines(self, data: st.DataObject) -> None:
        """Any edit of a booked order, the latest or an older one (then refused: only the edit
        the order stands on is undone)."""
        edit = data.draw(st.sampled_from(self.booked_edits()), label="edit")
        self.execute(
            c.RefuseAddedLines(
                order_id=edit.order_id,
                skus=tuple(ln.sku for ln in edit.lines),
                payment_reference=edit.payment_reference,
                previous_payment_reference=edit.previous_payment_reference,
                previous_payment_amount=edit.previous_payment_amount,
                reason="unknown items",
            )
        )

    def booked_edits(self) -> list[LinesAdded]:
        return [
            e.payload
            for i in self.order_ids
            for e in self.hub.events(i)
            if isinstance(e.payload, LinesAdded) and e.payload.booked
        ]

    @precondition(lambda self: self.any_order(*_BEFORE_SHIPMENT))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        order = self.pick_order(data, *_BEFORE_SHIPMENT)
        self.execute(c.CancelOrder(order_id=order.id))

    @precondition(lambda self: self.order_ids)
    @rule(data=st.data())
    def the_channel_cancels(self, data: st.DataObject) -> None:
        """Before shipping the order is cancelled; after, the request is only recorded."""
        order = self.pick_order(data, *_BEFORE_SHIPMENT, _S.PARTIALLY_SHIPPED, _S.SHIPPED)
        self.execute(
            c.FollowChannelCancellation(
                channel=order.channel, channel_order_ref=order.channel_order_ref, reason="shop"
            )
        )

    @precondition(lambda self: self.any_order(_S.PARTIALLY_SHIPPED, _S.SHIPPED, _S.DELIVERED))
    @rule(data=st.data(), share=st.sampled_from(("0.1", "0.5", "1", "1.5")), again=RARELY)
    def the_channel_refunds(self, data: st.DataObject, share: str, again: bool) -> None:
        """A refund the shop made: within the capture it is recorded, once per refund id."""
        order = self.pick_order(data, _S.PARTIALLY_SHIPPED, _S.SHIPPED, _S.DELIVERED)
        amount = (order.payment.captured.amount * Decimal(share)).quantize(Decimal("0.01"))
        refs = order.payment.channel_refunds
        self.execute(
            c.RecordChannelRefund(
                channel=order.channel,
                channel_order_ref=order.channel_order_ref,
                refund_ref=refs[-1] if again and refs else self.next_ref("REFUND"),
                amount=max(amount, Decimal("0.01")),
                currency=order.currency,
            )
        )

    @precondition(lambda self: self.order_ids)
    @rule(
        data=st.data(),
        share=st.sampled_from(("0.1", "0.5", "1", "1.5")),
        key=st.sampled_from(APPEASEMENT_KEYS),
    )
    def an_agent_appeases(self, data: st.DataObject, share: str, key: str) -> None:
        """A refund without a return, a share of what is left to refund (above it: refused), under
        an Idempotency-Key an agent may well send again: its refund is issued once."""
        order = self.pick_order(data, _S.PARTIALLY_SHIPPED, _S.SHIPPED, _S.DELIVERED)
        left = order.payment.refundable.amount
        amount = max((left * Decimal(share)).quantize(Decimal("0.01")), Decimal("0.01"))
        refund = refund_id("agent:desk", order.id, key)
        issued_before = str(refund) in order.payment.appeasements
        done, result = self.execute(
            c.IssueAppeasement(order_id=order.id, refund_id=refund, amount=amount, reason="sorry")
        )
        if done:
            assert result == (order.id, not issued_before), (
                f"appeasement {refund} issued again" if issued_before else "not issued"
            )
        outcome = "retried" if issued_before else "issued" if done else "refused"
        event(f"appeasement {outcome}")

    @precondition(lambda self: self.any_order(_S.RESERVED, _S.BACKORDERED, _S.BOOKED, _S.ON_HOLD))
    @rule(data=st.data())
    def hold_or_resume(self, data: st.DataObject) -> None:
        """An agent resumes an order on hold and holds any other."""
        order = self.pick_order(data, _S.RESERVED, _S.BACKORDERED, _S.BOOKED, _S.ON_HOLD)
        if order.status is _S.ON_HOLD:
            self.execute(c.ResumeOrder(order_id=order.id))
        else:
            self.execute(c.HoldOrder(order_id=order.id, reason="customer called"))

    @precondition(lambda self: any(_can_advance(self.order(i)) for i in self.order_ids))
    @rule(data=st.data())
    def advance_an_order(self, data: st.DataObject) -> None:
        """The order's next step on the happy path: booked, shipped (usually from where its units
        are held) and paid, delivered, partly returned, its oldest open return moved along. The
        other rules try everything else."""
        advancing = [i for i in self.order_ids if _can_advance(self.order(i))]
        order = self.order(data.draw(st.sampled_from(advancing), label="order"))
        if order.status is _S.RESERVED:  # booked again under its reference after losing stock
            ref = order.erp_order_ref or self.next_ref("ERP")
            self.execute(c.BookOrder(order_id=order.id, erp_order_ref=ref))
        elif order.status in (_S.BOOKED, _S.PARTIALLY_SHIPPED):
            self.ship(data, from_reserved=data.draw(USUALLY, label="from held"), order=order)
            if self.order(order.id).payment.can_capture():
                self.execute(c.CapturePayment(order_id=order.id))
        elif order.status is _S.SHIPPED:
            undelivered = sorted(s.id for s in order.shipments.values() if not s.is_delivered)
            shipment_id = data.draw(st.sampled_from(undelivered), label="shipment")
            delivered_at = self.hub.clock.now()
            self.execute(
                c.RecordDelivery(
                    order_id=order.id, shipment_id=shipment_id, delivered_at=delivered_at
                )
            )
        elif _open_returns(order):
            self.move_a_return_along(data, ret=_open_returns(order)[0])
        else:
            self.request_return(data, over=False, case_id=None, exchange_lines=[], order=order)

    # -- the ERP and the payment provider ------------------------------------------------------

    @precondition(lambda self: self.any_order(_S.RESERVED, _S.ON_HOLD))
    @rule(data=st.data(), answer=st.sampled_from(("booked", "booked again", "rejected")))
    def erp_answers(self, data: st.DataObject, answer: str) -> None:
        """Booking again under the same reference is harmless; under another one it is refused."""
        order = self.pick_order(data, _S.RESERVED, _S.ON_HOLD)
        if answer == "rejected":
            self.execute(c.RejectOrder(order_id=order.id, reason="credit limit"))
            return
        again = answer == "booked again" and order.erp_order_ref
        ref = order.erp_order_ref if again else self.next_ref("ERP")
        self.execute(c.BookOrder(order_id=order.id, erp_order_ref=ref))

    @precondition(lambda self: self.any_order(_S.PARTIALLY_SHIPPED, _S.SHIPPED))
    @rule(data=st.data(), amount=st.sampled_from(CAPTURES))
    def capture_payment(self, data: st.DataObject, amount: str) -> None:
        order = self.pick_order(data, _S.PARTIALLY_SHIPPED, _S.SHIPPED)
        explicit = capture_amount(order, amount)
        self.execute(c.CapturePayment(order_id=order.id, amount=explicit))

    @precondition(lambda self: self.any_order(_S.RESERVED, _S.BACKORDERED, _S.BOOKED))
    @rule(data=st.data())
    def fail_payment(self, data: st.DataObject) -> None:
        order = self.pick_order(data, _S.RESERVED, _S.BACKORDERED, _S.BOOKED)
        self.execute(c.FailPayment(order_id=order.id, reason="card declined"))

    # -- the warehouse -------------------------------------------------------------------------

    @precondition(lambda self: self.any_order(_S.BOOKED, _S.PARTIALLY_SHIPPED))
    @rule(data=st.data(), from_reserved=st.booleans())
    def ship(self, data: st.DataObject, from_reserved: bool, order: Order | None = None) -> None:
        """From a location holding the order's units, or from any location."""
        order = order or self.pick_order(data, _S.BOOKED, _S.PARTIALLY_SHIPPED)
        open_lines = [ln for ln in order.lines if ln.unshipped > 0] or order.lines
        lines = data.draw(
            st.lists(st.sampled_from(open_lines), min_size=1, unique_by=lambda ln: ln.sku),
            label="lines",
        )
        # up to one more than is left to ship: shipping more than ordered is refused
        quantities = tuple(
            c.SkuCount(sku=ln.sku, quantity=data.draw(st.integers(1, ln.unshipped + 1)))
            for ln in lines
        )
        skus = {ln.sku for ln in lines}
        held_at = sorted({r.location for r in order.reservations if r.is_active and r.sku in skus})
        where = held_at if from_reserved and held_at else LOCATIONS
        self.execute(
            c.RecordShipment(
                order_id=order.id,
                shipment_id=self.next_ref("S"),
                location=data.draw(st.sampled_from(where), label="location"),
                carrier="DHL",
                tracking_number=self.next_ref("T"),
                lines=quantities,
                dispatched_at=self.hub.clock.now(),
            )
        )

    @precondition(lambda self: self.any_order(_S.PARTIALLY_SHIPPED, _S.SHIPPED))
    @rule(data=st.data(), same_contents=st.booleans())
    def report_a_shipment_again(self, data: st.DataObject, same_contents: bool) -> None:
        """The same report is a harmless duplicate; other contents under its id are refused."""
        order = self.pick_order(data, _S.PARTIALLY_SHIPPED, _S.SHIPPED)
        if not order.shipments:
            return
        shipment = data.draw(st.sampled_from(list(order.shipments.values())), label="shipment")
        done, _ = self.execute(
            c.RecordShipment(
                order_id=order.id,
                shipment_id=shipment.id,
                location=shipment.location,
                carrier=shipment.carrier,
                tracking_number=shipment.tracking_number if same_contents else "OTHER",
                lines=tuple(c.SkuCount(sku=s, quantity=q) for s, q in shipment.lines.items()),
                dispatched_at=shipment.dispatched_at,
            )
        )
        assert done == same_contents

    @precondition(lambda self: self.any_order(_S.PARTIALLY_SHIPPED, _S.SHIPPED))
    @rule(data=st.data(), known=USUALLY)
    def deliver(self, data: st.DataObject, known: bool) -> None:
        """A shipment of the order, or one it never had (refused)."""
        order = self.pick_order(data, _S.PARTIALLY_SHIPPED, _S.SHIPPED)
        shipments = sorted(order.shipments) if known else []
        shipment_id = (
            data.draw(st.sampled_from(shipments), label="shipment") if shipments else "S-0"
        )
        self.execute(
            c.RecordDelivery(
                order_id=order.id, shipment_id=shipment_id, delivered_at=self.hub.clock.now()
            )
        )

    # -- returns -------------------------------------------------------------------------------

    @precondition(lambda self: self.any_order(*_SHIPPED))
    @rule(
        data=st.data(),
        over=RARELY,
        case_id=st.sampled_from((None, "500C10000000000")),
        exchange_lines=st.lists(EXCHANGE_LINES, max_size=2, unique_by=lambda ln: ln.sku),
    )
    def request_return(
        self,
        data: st.DataObject,
        over: bool,
        case_id: str | None,
        exchange_lines: list[LineSpec],
        order: Order | None = None,
    ) -> None:
        """Within what is returnable, or one unit over it (refused); sometimes an exchange for
        `exchange_lines`, first without a payment (refused when the replacement costs more),
        then with one for the difference."""
        order = order or self.pick_order(data, *_SHIPPED)
        shipped = [ln for ln in order.lines if ln.shipped] or order.lines
        lines = data.draw(
            st.lists(st.sampled_from(shipped), min_size=1, unique_by=lambda ln: ln.sku),
            label="lines",
        )
        specs, too_many = [], False
        for ln in lines:
            returnable = order.returnable(ln.sku)
            if over or returnable < 1:
                quantity, too_many = returnable + 1, True
            else:
                quantity = data.draw(st.integers(1, returnable), label="quantity")
            specs.append(ReturnLineSpec(sku=ln.sku, quantity=quantity, reason="too small"))
        request = c.RequestReturn(
            order_id=order.id,
            lines=tuple(specs),
            case_id=case_id,
            exchange_lines=tuple(exchange_lines),
        )
        done, return_id = self.execute(request)
        if isinstance(return_id, ExchangePaymentRequired):
            difference = Decimal(return_id.difference.split()[0])
            payment = c.PaymentSpec(reference=self.next_ref("pay-diff"), amount=difference)
            done, return_id = self.execute(replace(request, exchange_payment=payment))
        assert not (done and too_many), "a return of more than is returnable was accepted"
        if done:
            self.return_ids.append(return_id)

    @precondition(lambda self: self.any_return(*_RETURN_STEPS))
    @rule(data=st.data())
    def move_a_return_along(self, data: st.DataObject, ret: Return | None = None) -> None:
        """An agent, the warehouse or the ERP takes the return's next step (sometimes another)."""
        ret = ret or self.pick_return(data, *_RETURN_STEPS)
        usual = _RETURN_STEPS.get(ret.status)
        steps = usual if usual and data.draw(USUALLY, label="usual") else _ANY_STEP
        step = data.draw(st.sampled_from(steps), label="step")
        if step == "authorize":
            self.execute(c.AuthorizeReturn(return_id=ret.id))
        elif step == "reject":
            self.execute(c.RejectReturn(return_id=ret.id, reason="worn"))
        elif step == "cancel":
            self.execute(c.CancelReturn(return_id=ret.id))
        elif step == "receive":
            # up to one more than the return covers (refused)
            lines = tuple(
                c.SkuCount(sku=ln.sku, quantity=data.draw(st.integers(0, ln.quantity + 1)))
                for ln in ret.lines
            )
            self.execute(c.ReceiveReturn(return_id=ret.id, lines=lines))
        elif step == "inspect":
            self.inspect(data, ret)
        elif step == "credit memo":
            self.post_credit_memo(data, ret)
        elif step == "release hold":
            self.execute(c.ReleaseReturnHold(return_id=ret.id))
        else:
            self.execute(c.CloseReturn(return_id=ret.id))

    @precondition(lambda self: any(_replacement_due(self.ret(i)) for i in self.return_ids))
    @rule(data=st.data(), again=RARELY)
    def place_a_replacement(self, data: st.DataObject, again: bool) -> None:
        """The returns process manager places an exchange's replacement (sometimes once more, as
        a redelivery would: nothing more is placed)."""
        due = [i for i in self.return_ids if _replacement_due(self.ret(i))]
        return_id = data.draw(st.sampled_from(due), label="exchange")
        done, replacement_id = self.execute(c.PlaceReplacement(return_id=return_id))
        assert done, replacement_id
        event("an exchange's replacement placed")
        self.order_ids.append(replacement_id)
        if again:
            orders = len(self.hub.store.orders)
            assert self.execute(c.PlaceReplacement(return_id=return_id)) == (True, replacement_id)
            assert len(self.hub.store.orders) == orders

    def inspect(self, data: st.DataObject, ret: Return) -> None:
        """Leaving a received line without a disposition is refused."""
        lines = [
            c.InspectedSku(sku=ln.sku, disposition=data.draw(st.sampled_from(Disposition)))
            for ln in ret.lines
        ]
        if data.draw(st.booleans(), label="leave one out"):
            lines = lines[1:]
        self.execute(c.InspectReturn(return_id=ret.id, lines=tuple(lines)))

    def post_credit_memo(self, data: st.DataObject, ret: Return) -> None:
        """A memo for the computed refund is refunded; any other amount puts the return on hold."""
        computed = ret.refund_amount.amount if ret.refund_amount else Decimal("1.00")
        matching = data.draw(st.booleans(), label="matching")
        amount = computed if matching else computed + Decimal("0.01")
        self.execute(
            c.PostCreditMemo(return_id=ret.id, credit_memo_ref=self.next_ref("CM"), amount=amount)
        )

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def stock_is_never_negative(self) -> None:
        for key, level in self.hub.store.stock.items():
            assert min(level.on_hand, level.reserved, level.available) >= 0, (key, vars(level))

    @invariant()
    def reserved_stock_is_what_active_reservations_hold(self) -> None:
        held = reserved_by_orders(self.hub.store)
        stock = self.hub.store.stock
        for key in set(held) | set(stock):
            reserved = stock[key].reserved if key in stock else 0
            assert reserved == held.get(key, 0), (
                f"{key}: the level has {reserved} reserved, "
                f"the orders' active reservations hold {held.get(key, 0)}"
            )

    @invariant()
    def reserved_exceeds_on_hand_only_after_a_reported_shortfall(self) -> None:
        reported = levels_with_reported_shortfall(self.hub.store)
        for level in self.hub.store.stock.values():
            if level.stream_id not in reported:
                assert level.reserved <= level.on_hand, (
                    f"{level.key}: {level.reserved} reserved, {level.on_hand} on hand, "
                    "and no StockShortfallDetected was recorded"
                )

    @invariant()
    def lines_never_ship_or_hold_more_than_ordered(self) -> None:
        for order in self.hub.store.orders.values():
            for ln in order.lines:
                assert 0 <= ln.shipped <= ln.quantity, (order.id, ln)
                assert order.reserved(ln.sku) + ln.shipped <= ln.quantity, (order.id, ln)

    @invariant()
    def payments_refund_at_most_the_capture_and_capture_at_most_the_authorization(self) -> None:
        for order in self.hub.store.orders.values():
            p = order.payment
            assert 0 <= p.refunded.amount <= p.captured.amount <= p.authorized.amount, (order.id, p)

    @invariant()
    def returns_never_take_more_than_was_shipped(self) -> None:
        """An open return takes the units it asks for; a received one the units that came back
        (the rest may be asked for again)."""
        for order in self.hub.store.orders.values():
            for sku in {ln.sku for r in order.returns.values() for ln in r.lines}:
                line = order.line(sku)
                shipped = line.shipped if line else 0
                taken = sum(
                    ln.received if r.status in _COUNTED else ln.quantity
                    for r in order.returns.values()
                    if r.status not in _GIVEN_UP
                    for ln in r.lines
                    if ln.sku == sku
                )
                assert taken <= shipped, (
                    f"{order.id} {sku}: returns take {taken}, {shipped} shipped"
                )
            for r in order.returns.values():
                for ln in r.lines:
                    assert 0 <= ln.received <= ln.quantity, (r.id, ln)

    @invariant()
    def the_refunded_total_is_what_returns_the_channel_and_agents_refunded(self) -> None:
        """Refunded = refunded returns' computed refunds + the channel's recorded refunds + the
        agents' appeasements; a return never refunds more than its units with their tax (and
        shipping)."""
        zero = Decimal(0)
        for order in self.hub.store.orders.values():
            refunded = [r for r in order.returns.values() if r.status in _REFUNDED]
            paid = sum((_paid_back(r) for r in refunded), zero)
            paid += sum(
                (e.payload.amount for e in self.hub.events(order.id)
                 if isinstance(e.payload, RefundRecorded | AppeasementIssued)),
                zero,
            )  # fmt: skip
            assert order.payment.refunded.amount == paid, (order.id, order.payment)
            for r in order.returns.values():
                if r.refund_amount is not None:
                    goods = sum(
                        ((ln.unit_price.amount + (ln.unit_tax.amount if ln.unit_tax else zero))
                         * ln.received for ln in r.lines),
                        zero,
                    )  # fmt: skip
                    shipping = r.shipping_refund.amount if r.shipping_refund else zero
                    assert zero <= r.refund_amount.amount <= goods + shipping, r

    @invariant()
    def no_appeasement_is_issued_twice_for_one_key(self) -> None:
        """One `AppeasementIssued` per refund id (so per agent, order and Idempotency-Key), and
        every id the payment kept has its event."""
        for order in self.hub.store.orders.values():
            issued = [
                str(e.payload.refund_id)
                for e in self.hub.events(order.id)
                if isinstance(e.payload, AppeasementIssued)
            ]
            assert len(issued) == len(set(issued)), (order.id, issued)
            assert issued == order.payment.appeasements, (order.id, issued)

    @invariant()
    def the_order_total_is_its_lines_with_their_tax_plus_shipping(self) -> None:
        """Σ quantity × (unit price + tax) + shipping, as the lines stand, is the total its events
        last recorded (what the order view shows and the ERP is sent); at placement the
        authorization covered it."""
        for order in self.hub.store.orders.values():
            lines = sum(
                ((ln.unit_price.amount + ln.tax_amount.amount) * ln.quantity for ln in order.lines),
                Decimal(0),
            )
            document = self.view(order.id)
            assert Decimal(document["total"]) == lines + order.shipping_amount.amount, (
                order.id,
                document["total"],
                [(ln.sku, ln.quantity, ln.unit_price, ln.tax_amount) for ln in order.lines],
            )

    @invariant()
    def every_change_is_one_event_numbered_in_its_stream(self) -> None:
        store = self.hub.store
        streams = versions_by_stream(store)
        aggregates = [*store.orders.values(), *store.stock.values()]
        for aggregate in aggregates:
            versions = streams.get(aggregate.stream_id, [])
            assert versions == list(range(1, aggregate.version + 1)), (
                f"{aggregate.aggregate_type} {aggregate.stream_id} is at version "
                f"{aggregate.version}; its events carry versions {versions}"
            )
        assert set(streams) <= {a.stream_id for a in aggregates}, "events of unsaved aggregates"
        event_ids = [e.event_id for e in store.outbox]
        assert len(event_ids) == len(set(event_ids)), "duplicate event ids"

    @invariant()
    def an_exchange_has_at_most_one_replacement_and_it_names_the_return(self) -> None:
        orders = self.hub.store.orders.values()
        for order in orders:
            for r in order.returns.values():
                placed = [o for o in orders if o.channel_order_ref == f"exchange:{r.id}"]
                replacement_id = r.exchange.replacement_order_id if r.exchange else None
                assert [o.id for o in placed] == ([replacement_id] if replacement_id else []), r
                for replacement in placed:
                    assert replacement.replacement_for_return_id == r.id

    @invariant()
    def cancelled_orders_hold_nothing_and_delivered_orders_shipped_everything(self) -> None:
        for order in self.hub.store.orders.values():
            if order.status is _S.CANCELLED:
                assert not [r for r in order.reservations if r.is_active], order.id
            if order.status is _S.DELIVERED:
                assert all(ln.shipped == ln.quantity for ln in order.lines), order.id

    @invariant()
    def reserved_and_booked_orders_hold_every_unshipped_unit(self) -> None:
        """PRODUCT.md 2.1/2.2: `reserved` means fully reserved; booking only confirms holds."""
        for order in self.hub.store.orders.values():
            if order.status in _FULLY_RESERVED:
                for ln in order.lines:
                    assert order.reserved(ln.sku) == ln.unshipped, (
                        f"{order.status} order {order.id}: {ln.sku} has {ln.unshipped} unshipped "
                        f"units but {order.reserved(ln.sku)} reserved"
                    )

    @invariant()
    def once_reactions_ran_no_backorder_waits_for_available_stock(self) -> None:
        """PRODUCT.md 2.1: a backordered order is re-attempted when stock becomes available."""
        if not self.quiet:
            return
        available = available_by_sku(self.hub.store)
        for order in self.hub.store.orders.values():
            if order.status is _S.BACKORDERED:
                for ln in order.lines:
                    missing = ln.unshipped - order.reserved(ln.sku)
                    assert missing <= 0 or available.get(ln.sku, 0) == 0, (
                        f"backordered order {order.id} misses {missing} {ln.sku} while "
                        f"{available[ln.sku]} are available"
                    )


class DeliveredOrdersMachine(HubMachine):
    """The same rules, starting from orders already delivered and paid: returns from step one."""

    @initialize(
        quantities=st.lists(st.integers(2, 4), min_size=6, max_size=6),
        orders=st.lists(ORDERS, min_size=1, max_size=3),
        capture=st.sampled_from(CAPTURES[:3]),
    )
    def open_for_business(
        self, quantities: list[int], orders: list[c.PlaceOrder], capture: str
    ) -> None:
        super().open_for_business(quantities, orders)
        for order_id in self.order_ids:
            if self.order(order_id).status is _S.RESERVED:
                self.deliver_everything(order_id, capture)

    def deliver_everything(self, order_id: UUID, capture: str) -> None:
        """Booked, shipped from where each unit is held, paid (`capture`), delivered."""
        self.execute(c.BookOrder(order_id=order_id, erp_order_ref=self.next_ref("ERP")))
        held: dict[str, dict[str, int]] = {}
        for r in self.order(order_id).reservations:
            if r.is_active:
                held.setdefault(r.location, {})[r.sku] = r.outstanding
        for location, quantities in sorted(held.items()):
            lines = tuple(c.SkuCount(sku=s, quantity=q) for s, q in quantities.items())
            self.execute(
                c.RecordShipment(
                    order_id=order_id,
                    shipment_id=self.next_ref("S"),
                    location=location,
                    carrier="DHL",
                    tracking_number=self.next_ref("T"),
                    lines=lines,
                    dispatched_at=self.hub.clock.now(),
                )
            )
        amount = capture_amount(self.order(order_id), capture)
        self.execute(c.CapturePayment(order_id=order_id, amount=amount))
        for shipment_id in sorted(self.order(order_id).shipments):
            self.execute(
                c.RecordDelivery(
                    order_id=order_id, shipment_id=shipment_id, delivered_at=self.hub.clock.now()
                )
            )


def machine_settings(steps: int) -> settings:
    """300 runs of up to `steps` rules, every invariant checked after each rule."""
    return settings(
        max_examples=300,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


def test_random_command_sequences_keep_the_hub_consistent() -> None:
    run_state_machine_as_test(HubMachine, settings=machine_settings(steps=60))


def test_random_commands_on_delivered_orders_keep_returns_and_refunds_consistent() -> None:
    run_state_machine_as_test(DeliveredOrdersMachine, settings=machine_settings(steps=40))

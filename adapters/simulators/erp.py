"""A simulated ERP: books orders once, takes their changes, authorizes returns, credits them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from adapters.simulators.agenda import Agenda, Redelivery
from adapters.simulators.chance import between, chance, stream
from adapters.simulators.faults import FaultModel
from adapters.simulators.inbound import ERP, Inbound, inbound_event, money, stable_id
from ports.clock import Clock
from ports.erp import ErpDecision, ErpOrder, ErpReturn
from ports.remote import RemoteRejected

_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True, kw_only=True)
class ErpBehaviour:
    """How the simulated ERP decides and how soon it reports back. Delays are (low, high)
    ranges drawn per order or return from the seeded stream."""

    rejected_skus: frozenset[str] = frozenset()
    rejection_rate: float = 0.0
    credit_memo_mismatch_rate: float = 0.0
    announce_bookings: bool = True
    booking_report_delay: tuple[timedelta, timedelta] = (
        timedelta(seconds=1),
        timedelta(seconds=30),
    )
    credit_memo_delay: tuple[timedelta, timedelta] = (timedelta(minutes=5), timedelta(hours=2))
    redelivery: Redelivery = field(default_factory=Redelivery)


@dataclass(frozen=True, slots=True)
class Booking:
    order_id: UUID
    erp_order_ref: str
    booked_at: datetime


@dataclass(frozen=True, slots=True)
class Amendment:
    order: ErpOrder
    erp_order_ref: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ReturnAuthorization:
    ret: ErpReturn
    authorized_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditMemo:
    """A credit memo the ERP will post; `posted_amount` differs from `requested_amount` when the
    simulator plays an ERP that computed the refund differently."""

    return_id: UUID
    credit_memo_ref: str
    requested_amount: Decimal
    posted_amount: Decimal
    currency: str
    posted_at: datetime

    @property
    def mismatched(self) -> bool:
        return self.posted_amount != self.requested_amount


@dataclass(slots=True)
class ErpStats:
    """Counters for reconciliation: `submissions_received` always equals
    `orders_booked + orders_rejected + duplicate_submissions`."""

    submissions_received: int = 0
    orders_booked: int = 0
    orders_rejected: int = 0
    duplicate_submissions: int = 0
    #: repeats of any call (submission, amendment, cancellation, return, credit memo) that
    #: changed nothing because the ERP had already acted on them
    duplicates_suppressed: int = 0
    amendments: int = 0
    cancellations: int = 0
    returns_authorized: int = 0
    credit_memos: int = 0
    credit_memo_mismatches: int = 0


class SimulatedErp:
    """An ERP that decides each order once: booked under `ERP-<n>` or rejected (a SKU in
    `rejected_skus`, or the seeded `rejection_rate`). Submitting the same order again returns the
    same decision, through outages and lost replies; only a rejected order that comes back with
    different contents (an agent fixed it) is decided again. Amendments and cancellations are
    refused (`RemoteRejected`) once the warehouse has shipped, and an amendment naming a SKU in
    `rejected_skus` is refused with the reason a booking would get. A credit memo request is answered
    later by a `credit_memo.posted` event from `due_events(now)`, as is each booking by an
    `order.booked` event when `announce_bookings` is set.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        seed: int = 0,
        faults: FaultModel | None = None,
        behaviour: ErpBehaviour = ErpBehaviour(),
    ) -> None:
        self._clock = clock
        self._seed = seed
        self._faults = faults or FaultModel()
        self._behaviour = behaviour
        self._agenda = Agenda()
        self._submitted: dict[UUID, ErpOrder] = {}
        self._decisions: dict[UUID, ErpDecision] = {}
        self._revisions: dict[UUID, int] = {}
        self._current: dict[UUID, ErpOrder] = {}
        self._bookings: list[Booking] = []
        self._booking_of: dict[UUID, Booking] = {}
        self._amendments: list[Amendment] = []
        self._cancellations: dict[UUID, str] = {}
        self._dispatched: dict[UUID, datetime] = {}
        self._returns: list[ReturnAuthorization] = []
        self._return_of: dict[UUID, ReturnAuthorization] = {}
        self._credit_memos: dict[UUID, CreditMemo] = {}
        self._change_observers: list[Callable[[datetime], None]] = []
        self.stats = ErpStats()

    # -- ErpPort ---------------------------------------------------------------------------------

    async def submit_order(self, order: ErpOrder) -> ErpDecision:
        """Book the order, or reject it; the same order again gets the same decision."""
        await self._faults.arrive("ERP submit_order")
        self.stats.submissions_received += 1
        decision = self._decisions.get(order.order_id)
        if decision is not None and (decision.booked or self._submitted[order.order_id] == order):
            self.stats.duplicate_submissions += 1
            self.stats.duplicates_suppressed += 1
        else:
            decision = self._decide(order)
        self._faults.respond("ERP submit_order")
        return decision

    async def amend_order(self, order: ErpOrder, erp_order_ref: str) -> None:
        """Replace the booked order with `order`; the same amendment again changes nothing."""
        await self._faults.arrive("ERP amend_order")
        self._ensure_booked_as(order.order_id, erp_order_ref)
        self._let_observers_catch_up()
        if self._current[order.order_id] == order:
            self.stats.duplicates_suppressed += 1
        else:
            self._ensure_still_open(order.order_id, "amended")
            self._ensure_known_items(order)
            self._current[order.order_id] = order
            self._amendments.append(Amendment(order, erp_order_ref, self._clock.now()))
            self.stats.amendments += 1
        self._faults.respond("ERP amend_order")

    async def cancel_order(self, order_id: UUID, erp_order_ref: str, reason: str) -> None:
        """Cancel the booked order so the warehouse does not ship it; once only."""
        await self._faults.arrive("ERP cancel_order")
        self._ensure_booked_as(order_id, erp_order_ref)
        self._let_observers_catch_up()
        if order_id in self._cancellations:
            self.stats.duplicates_suppressed += 1
        else:
            self._ensure_still_open(order_id, "cancelled")
            self._cancellations[order_id] = reason
            self.stats.cancellations += 1
        self._faults.respond("ERP cancel_order")

    async def authorize_return(self, ret: ErpReturn) -> None:
        """Open the return authorization, once per return id, for an order this ERP booked."""
        await self._faults.arrive("ERP authorize_return")
        self._ensure_booked_as(ret.order_id, ret.erp_order_ref)
        if ret.return_id in self._return_of:
            self.stats.duplicates_suppressed += 1
        else:
            authorization = ReturnAuthorization(ret, self._clock.now())
            self._returns.append(authorization)
            self._return_of[ret.return_id] = authorization
            self.stats.returns_authorized += 1
        self._faults.respond("ERP authorize_return")

    async def request_credit_memo(self, return_id: UUID, amount: Decimal, currency: str) -> None:
        """Schedule the `credit_memo.posted` event for an authorized return, once per return."""
        await self._faults.arrive("ERP request_credit_memo")
        if return_id not in self._return_of:
            raise RemoteRejected(f"ERP: no return authorization for return {return_id}")
        if return_id in self._credit_memos:
            self.stats.duplicates_suppressed += 1
        else:
            self._post_credit_memo(return_id, amount, currency)
        self._faults.respond("ERP request_credit_memo")

    # -- what the ERP knows (for the warehouse, reconciliation and tests) -----------------------

    def bookings(self, start: int = 0) -> list[Booking]:
        """Every booking from the `start`-th on, in booking order."""
        return self._bookings[start:]

    def decision(self, order_id: UUID) -> ErpDecision | None:
        return self._decisions.get(order_id)

    def order(self, order_id: UUID) -> ErpOrder:
        """The booked order as it now stands, amendments applied."""
        return self._current[order_id]

    def amendments(self) -> list[Amendment]:
        return list(self._amendments)

    def cancellation_reason(self, order_id: UUID) -> str | None:
        return self._cancellations.get(order_id)

    def is_cancelled(self, order_id: UUID) -> bool:
        return order_id in self._cancellations

    def before_order_change(self, observer: Callable[[datetime], None]) -> None:
        """Call `observer(now)` before accepting an amendment or cancellation, so the warehouse
        can first ship whatever it was due to ship by then."""
        self._change_observers.append(observer)

    def mark_dispatched(self, order_id: UUID, at: datetime) -> None:
        """The warehouse shipped the order: from now on it can be neither amended nor cancelled."""
        self._dispatched.setdefault(order_id, at)

    def return_authorizations(self, start: int = 0) -> list[ReturnAuthorization]:
        """Every return authorization from the `start`-th on, in the order they were opened."""
        return self._returns[start:]

    def credit_memo(self, return_id: UUID) -> CreditMemo | None:
        return self._credit_memos.get(return_id)

    def due_events(self, now: datetime) -> list[Inbound]:
        """The ERP's events (`order.booked`, `credit_memo.posted`) due by `now`, in time order."""
        return self._agenda.release(now)

    def next_due(self) -> datetime | None:
        return self._agenda.next_due()

    # -- rules -----------------------------------------------------------------------------------

    def _decide(self, order: ErpOrder) -> ErpDecision:
        revision = self._revisions.get(order.order_id, 0) + 1
        self._revisions[order.order_id] = revision
        self._submitted[order.order_id] = order
        rng = stream(self._seed, "erp", "decision", order.order_id, revision)
        unknown = sorted({ln.sku for ln in order.lines if ln.sku in self._behaviour.rejected_skus})
        if unknown:
            decision = ErpDecision(rejection_reason=f"unknown items {', '.join(unknown)}")
        elif chance(rng, self._behaviour.rejection_rate):
            decision = ErpDecision(rejection_reason="customer account blocked (credit check)")
        else:
            decision = ErpDecision(erp_order_ref=self._book(order))
        if not decision.booked:
            self.stats.orders_rejected += 1
        self._decisions[order.order_id] = decision
        return decision

    def _book(self, order: ErpOrder) -> str:
        booking = Booking(order.order_id, f"ERP-{len(self._bookings) + 1:06d}", self._clock.now())
        self._bookings.append(booking)
        self._booking_of[order.order_id] = booking
        self._current[order.order_id] = order
        self.stats.orders_booked += 1
        if self._behaviour.announce_bookings:
            rng = stream(self._seed, "erp", "order.booked", order.order_id)
            event = inbound_event(
                event_id=stable_id(self._seed, ERP, "order.booked", order.order_id),
                type="order.booked",
                occurred_at=booking.booked_at,
                data={"order_id": str(order.order_id), "erp_order_ref": booking.erp_order_ref},
            )
            due = booking.booked_at + between(rng, *self._behaviour.booking_report_delay)
            self._agenda.post(
                due, ERP, event, again_after=self._behaviour.redelivery.copy_after(rng)
            )
        return booking.erp_order_ref

    def _post_credit_memo(self, return_id: UUID, amount: Decimal, currency: str) -> None:
        rng = stream(self._seed, "erp", "credit_memo.posted", return_id)
        posted_at = self._clock.now() + between(rng, *self._behaviour.credit_memo_delay)
        posted = amount
        if chance(rng, self._behaviour.credit_memo_mismatch_rate):
            posted = _miscomputed(amount)
            self.stats.credit_memo_mismatches += 1
        memo = CreditMemo(
            return_id=return_id,
            credit_memo_ref=f"CM-{len(self._credit_memos) + 1:06d}",
            requested_amount=amount,
            posted_amount=posted,
            currency=currency,
            posted_at=posted_at,
        )
        self._credit_memos[return_id] = memo
        self.stats.credit_memos += 1
        event = inbound_event(
            event_id=stable_id(self._seed, ERP, "credit_memo.posted", return_id),
            type="credit_memo.posted",
            occurred_at=posted_at,
            data={
                "return_id": str(return_id),
                "credit_memo_ref": memo.credit_memo_ref,
                "amount": money(posted),
            },
        )
        again_after = self._behaviour.redelivery.copy_after(rng)
        self._agenda.post(posted_at, ERP, event, again_after=again_after)

    def _let_observers_catch_up(self) -> None:
        now = self._clock.now()
        for observer in self._change_observers:
            observer(now)

    def _ensure_booked_as(self, order_id: UUID, erp_order_ref: str) -> None:
        booking = self._booking_of.get(order_id)
        if booking is None or booking.erp_order_ref != erp_order_ref:
            raise RemoteRejected(f"ERP: no order {erp_order_ref!r} booked for {order_id}")

    def _ensure_known_items(self, order: ErpOrder) -> None:
        """An amendment naming an item it rejects orders for is refused (the booking's rule)."""
        rejected = sorted({ln.sku for ln in order.lines if ln.sku in self._behaviour.rejected_skus})
        if rejected:
            raise RemoteRejected(f"unknown items {', '.join(rejected)}")

    def _ensure_still_open(self, order_id: UUID, change: str) -> None:
        if order_id in self._cancellations:
            raise RemoteRejected(f"ERP: order {order_id} is cancelled and cannot be {change}")
        if order_id in self._dispatched:
            raise RemoteRejected(f"ERP: order {order_id} has shipped and cannot be {change}")


def _miscomputed(amount: Decimal) -> Decimal:
    """A plausible wrong credit memo: an unexpected 10 % deduction, at least a cent off."""
    wrong = (amount * Decimal("0.9")).quantize(_CENT)
    return wrong if wrong != amount else amount + _CENT

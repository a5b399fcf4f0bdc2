"""Order fulfilment (PRODUCT.md §3.1 and §3.3): ERP booking, status pushes, capture on shipment.

Degraded mode: when the ERP cannot be reached an order simply stays `reserved`; nothing is lost.
The catch-up job (`submit_waiting`) books waiting orders oldest first once the ERP answers, and a
new order does not overtake older ones that are still waiting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from decimal import Decimal
from uuid import UUID

from application.process_managers.context import ProcessContext
from domain import events as e
from domain.commands import (
    BookOrder,
    CapturePayment,
    FailPayment,
    RefuseAddedLines,
    RejectOrder,
)
from domain.errors import InvalidTransition
from domain.order import Order
from domain.order_lifecycle import OrderStatus
from ports.commerce import CommerceStatus
from ports.erp import ErpLine, ErpOrder
from ports.outbox import EventEnvelope
from ports.payment import PaymentDeclined
from ports.remote import RemoteRejected, RemoteUnavailable
from ports.unit_of_work import CommandMeta

ACTOR = "pm:fulfilment"
_READ = CommandMeta(actor=ACTOR, correlation_id="read")

_SUBSCRIBED = frozenset(
    cls.__name__
    for cls in (
        e.InventoryReserved, e.OrderResumed, e.OrderAmended, e.LinesAdded, e.AddedLinesRefused,
        e.OrderBooked, e.OrderRejectedByErp,
        e.ShipmentDispatched, e.ShipmentDelivered, e.OrderCancelled, e.PaymentVoided,
        e.RemainderCancelled, e.OvercaptureRefunded, e.AppeasementIssued,
    )
)  # fmt: skip


def erp_order(order: Order) -> ErpOrder:
    """The order as the ERP gets it (booking and amendments alike): one line per (sku,
    location) that holds its units, so a line split across locations is booked at each."""
    return ErpOrder(
        order_id=order.id,
        channel=order.channel,
        channel_order_ref=order.channel_order_ref,
        customer_email=order.customer.email,
        shipping_address=order.shipping_address,
        currency=order.currency,
        lines=tuple(erp_lines(order)),
        total=order.total.amount,
    )


def erp_lines(order: Order) -> Iterator[ErpLine]:
    """In the order's line order, then the order its units were allocated in: the units each
    location holds for the line (its active reservations there), then any units no reservation
    covers (a backorder) as a line with no location."""
    for ln in order.lines:
        held: dict[str, int] = {}  # by location, first allocated first
        for r in order.reservations:
            if r.is_active and r.sku == ln.sku and r.outstanding:
                held[r.location] = held.get(r.location, 0) + r.outstanding
        unheld = ln.quantity - sum(held.values())
        price, tax = ln.unit_price.amount, ln.tax_amount.amount
        for location, quantity in held.items():
            yield ErpLine(
                sku=ln.sku, quantity=quantity, unit_price=price, tax_amount=tax, location=location
            )
        if unheld > 0:
            yield ErpLine(
                sku=ln.sku, quantity=unheld, unit_price=price, tax_amount=tax, location=None
            )


class Fulfilment:
    name = "fulfilment"
    subscribes = _SUBSCRIBED
    in_order = True

    def __init__(self, ctx: ProcessContext) -> None:
        self._ctx = ctx

    async def handle(self, envelope: EventEnvelope) -> None:
        event = envelope.payload
        match event:
            case e.InventoryReserved() | e.OrderResumed() if (
                event.order_status == OrderStatus.RESERVED
            ):
                await self.submit(event.order_id, envelope)
            case e.OrderAmended():
                await self._amended(event, envelope)
            case e.LinesAdded():
                await self._lines_added(event, envelope)
            case e.AddedLinesRefused():
                if event.refused_payment_reference != event.payment_reference:
                    await self._void_replaced(event.order_id, event.refused_payment_reference)
                await self._push(event.order_id, envelope, "on_hold", note=event.reason)
            case e.OrderBooked():
                await self._push(event.order_id, envelope, "booked")
            case e.OrderRejectedByErp():
                await self._push(event.order_id, envelope, "on_hold", note=event.reason)
            case e.ShipmentDispatched():
                await self._capture_once(event.order_id, envelope)
                await self._push(
                    event.order_id, envelope, event.order_status,
                    carrier=event.carrier, tracking_number=event.tracking_number,
                )  # fmt: skip
            case e.ShipmentDelivered():
                await self._push(event.order_id, envelope, event.order_status)
            case e.OrderCancelled():
                await self._cancelled(event, envelope)
            case e.PaymentVoided():
                await self._void(event.order_id)
            case e.RemainderCancelled():
                await self._remainder_cancelled(event, envelope)
            case e.OvercaptureRefunded():
                await self._refund_remainder(event.order_id, event.amount, event.currency)
            case e.AppeasementIssued():
                await self._appeasement_issued(event, envelope)

    # -- the ERP -----------------------------------------------------------------------------

    async def submit(self, order_id: UUID, cause: EventEnvelope) -> bool:
        """Book a reserved order with the ERP unless older orders are still waiting for it.
        Returns whether the ERP answered."""
        async with self._ctx.uow_factory(_READ) as uow:  # one read for the order and its turn
            order = await uow.orders.get(order_id)
            if order.status is not OrderStatus.RESERVED:
                return True
            older = await uow.orders.waiting_for_erp(
                reserved_before=self._ctx.clock.now() - self._ctx.erp_grace,
                created_before=order.created_at,
                limit=1,
            )
        if older:
            return False
        return await self._book(order, cause)

    async def submit_waiting(self, limit: int = 100) -> int:
        """The catch-up job: book orders that waited for the ERP, oldest first; stop at the first
        that cannot reach it. Returns how many the ERP answered."""
        answered = 0
        for order_id in await self._waiting(limit):
            order = await self._ctx.order(order_id)
            if order.status is not OrderStatus.RESERVED:
                continue
            if not await self._book(order, None):
                break
            answered += 1
        return answered

    async def book_waiting(self, batch: int = 100, most: int = 5000) -> int:
        """The catch-up job's run: batches of `submit_waiting` for as long as each is full, up to
        `most` orders. Orders wait for the catch-up not only while the ERP is away but whenever
        the workers fall more than the grace behind (a flash sale): one batch per run would
        cap bookings at `batch` per interval however fast the ERP answers."""
        answered = 0
        while answered < most:
            done = await self.submit_waiting(min(batch, most - answered))
            answered += done
            if done < batch:
                break
        return answered

    async def _book(self, order: Order, cause: EventEnvelope | None) -> bool:
        try:
            decision = await self._ctx.erp.submit_order(erp_order(order))
        except RemoteUnavailable:
            return False  # the order waits, reserved; the catch-up job books it in its turn
        except RemoteRejected as e:
            # The ERP refuses this order's document for good (not a business decision, e.g. a
            # 422): the order goes on hold with the ERP's words for an agent, instead of staying
            # `reserved` and holding up every order placed after it.
            refusal = RejectOrder(order_id=order.id, reason=str(e))
            with suppress(InvalidTransition):  # cancelled or held meanwhile: nothing to hold
                await self._ctx.run(refusal, cause, ACTOR)
            return True
        try:
            if decision.erp_order_ref is not None:
                await self._ctx.run(
                    BookOrder(order_id=order.id, erp_order_ref=decision.erp_order_ref), cause, ACTOR
                )
            else:
                reason = decision.rejection_reason or "rejected by the ERP"
                await self._ctx.run(RejectOrder(order_id=order.id, reason=reason), cause, ACTOR)
        except InvalidTransition:
            await self._cancel_if_cancelled_meanwhile(order.id, decision.erp_order_ref)
        return True

    async def _cancel_if_cancelled_meanwhile(
        self, order_id: UUID, erp_order_ref: str | None
    ) -> None:
        order = await self._ctx.order(order_id)
        if order.status is OrderStatus.CANCELLED and erp_order_ref is not None:
            await self._ctx.erp.cancel_order(
                order_id, erp_order_ref, "cancelled while being booked"
            )

    async def _waiting(self, limit: int) -> list[UUID]:
        async with self._ctx.uow_factory(_READ) as uow:
            return await uow.orders.waiting_for_erp(
                reserved_before=self._ctx.clock.now() - self._ctx.erp_grace, limit=limit
            )

    async def _amended(self, event: e.OrderAmended, cause: EventEnvelope) -> None:
        order = await self._ctx.order(event.order_id)
        if order.erp_order_ref is not None and order.status is not OrderStatus.CANCELLED:
            await self._ctx.erp.amend_order(erp_order(order), order.erp_order_ref)
        elif event.order_status == OrderStatus.RESERVED:
            await self.submit(event.order_id, cause)

    async def _lines_added(self, event: e.LinesAdded, cause: EventEnvelope) -> None:
        """A booked order (booked before the edit, or by a booking that raced it) is amended at
        the ERP with every line; only once the ERP took it is the replaced authorization voided,
        and if the ERP refuses, the edit is undone (`RefuseAddedLines`: the order on hold, the
        previous authorization back, the edit's voided on `AddedLinesRefused`). An order not
        booked is booked in its turn (`InventoryReserved` follows) and the replaced
        authorization is voided at once."""
        order = await self._ctx.order(event.order_id)
        replaced = event.previous_payment_reference
        if replaced != event.payment_reference and order.payment.reference == replaced:
            return  # the edit was undone (this is a redelivery): the old payment is in use again
        if order.erp_order_ref is not None and order.status is not OrderStatus.CANCELLED:
            try:
                await self._ctx.erp.amend_order(erp_order(order), order.erp_order_ref)
            except RemoteRejected as refused:
                await self._refuse(event, str(refused), cause)
                return
        if replaced != event.payment_reference:
            await self._void_replaced(event.order_id, replaced)

    async def _refuse(self, event: e.LinesAdded, reason: str, cause: EventEnvelope) -> None:
        undo = RefuseAddedLines(
            order_id=event.order_id,
            skus=tuple(ln.sku for ln in event.lines),
            payment_reference=event.payment_reference,
            previous_payment_reference=event.previous_payment_reference,
            previous_payment_amount=event.previous_payment_amount,
            reason=reason,
        )
        # Another edit or a cancellation came first (the event redelivered after the undo):
        # nothing of this edit is left to undo.
        with suppress(InvalidTransition):
            await self._ctx.run(undo, cause, ACTOR)

    async def _void_replaced(self, order_id: UUID, payment_reference: str) -> None:
        """An authorization the order no longer stands on, voided once
        (`void:<order id>:<reference>`; the order's own void on cancellation keeps
        `void:<order id>`)."""
        key = f"void:{order_id}:{payment_reference}"
        await self._ctx.payment.void(payment_reference, idempotency_key=key)

    async def _cancelled(self, event: e.OrderCancelled, cause: EventEnvelope) -> None:
        order = await self._ctx.order(event.order_id)
        if order.erp_order_ref is not None:
            await self._ctx.erp.cancel_order(order.id, order.erp_order_ref, event.reason)
        await self._push(order.id, cause, "cancelled", note=event.reason)

    async def _remainder_cancelled(self, event: e.RemainderCancelled, cause: EventEnvelope) -> None:
        """The ERP hears the order as it now stands (what shipped); a capture that took the old
        total is refunded the difference, once (`refund:<order id>:remainder`)."""
        order = await self._ctx.order(event.order_id)
        if order.erp_order_ref is not None:
            await self._ctx.erp.amend_order(erp_order(order), order.erp_order_ref)
        if event.refund_amount > 0:
            await self._refund_remainder(order.id, event.refund_amount, event.currency)
        await self._push(order.id, cause, event.order_status, note=event.reason)

    async def _refund_remainder(self, order_id: UUID, amount: Decimal, currency: str) -> None:
        """The unshipped part of a capture, refunded once: by the cancellation of the remainder,
        or, when the capture was still at the provider then, by the capture's excess; never both
        (the order records one or the other), and one key for either."""
        order = await self._ctx.order(order_id)
        await self._ctx.payment.refund(
            order.payment.reference,
            amount,
            currency,
            idempotency_key=f"refund:{order_id}:remainder",
        )

    async def _appeasement_issued(self, event: e.AppeasementIssued, cause: EventEnvelope) -> None:
        """An agent's refund without a return is paid out once (`refund:<refund id>`, the key
        returns use with their own id), then the channel and the order's cases hear of it."""
        order = await self._ctx.order(event.order_id)
        await self._ctx.payment.refund(
            order.payment.reference,
            event.amount,
            event.currency,
            idempotency_key=f"refund:{event.refund_id}",
        )
        note = f"refund {event.amount} {event.currency} without a return: {event.reason}"
        await self._push(order.id, cause, event.payment_status, note=note)

    # -- payment and the commerce platform -----------------------------------------------------

    async def _void(self, order_id: UUID) -> None:
        """The order was cancelled before capture: release the authorization at the provider
        (PRODUCT.md §8.1), once (`void:<order id>`)."""
        order = await self._ctx.order(order_id)
        await self._ctx.payment.void(order.payment.reference, idempotency_key=f"void:{order.id}")

    async def _capture_once(self, order_id: UUID, cause: EventEnvelope) -> None:
        order = await self._ctx.order(order_id)
        if not order.payment.can_capture():
            return
        amount = order.total
        try:
            await self._ctx.payment.capture(
                order.payment.reference,
                amount.amount,
                amount.currency,
                idempotency_key=f"capture:{order.id}",
            )
        except PaymentDeclined as e:
            # A business refusal, not a failure to retry: the order waits on hold for an agent,
            # with the provider's words on its timeline (PRODUCT.md §8.1).
            await self._ctx.run(FailPayment(order_id=order.id, reason=e.reason), cause, ACTOR)
            return
        # The order may have cost less by the time the provider answered (its remainder was
        # cancelled meanwhile): the excess is refunded then (`Order.capture_payment`).
        capture = CapturePayment(order_id=order.id, amount=amount.amount, refund_excess=True)
        await self._ctx.run(capture, cause, ACTOR)

    async def _push(
        self,
        order_id: UUID,
        cause: EventEnvelope,
        status: str,
        *,
        carrier: str | None = None,
        tracking_number: str | None = None,
        note: str | None = None,
    ) -> None:
        order = await self._ctx.order(order_id)
        update = CommerceStatus(
            channel=order.channel,
            channel_order_ref=order.channel_order_ref,
            status=status,
            carrier=carrier,
            tracking_number=tracking_number,
            note=note,
        )
        await self._ctx.commerce.push_status(update, idempotency_key=f"{cause.event_id}:commerce")
        for case_id in order.case_ids:
            await self._ctx.crm.add_case_comment(
                case_id,
                f"Order {order.channel_order_ref}: {status}",
                external_id=f"{cause.event_id}:{case_id}",
            )

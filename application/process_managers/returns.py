"""Returns (PRODUCT.md §3.2): ERP authorization, CRM comments, credit memo, refund, close; an
exchange's replacement and its difference payment (§8.6, docs/money.md)."""

from __future__ import annotations

from decimal import Decimal

from application.process_managers.context import ProcessContext
from domain import events as e
from domain.commands import CloseReturn, LinkCase, PlaceReplacement
from domain.order import Order
from domain.returns import Return, ReturnStatus
from ports.commerce import CommerceStatus
from ports.erp import ErpLine, ErpReturn
from ports.outbox import EventEnvelope

ACTOR = "pm:returns"

_SUBSCRIBED = frozenset(
    cls.__name__
    for cls in (
        e.ReturnAuthorized, e.ReturnInspected, e.RefundIssued, e.ReturnHeld, e.ReplacementDue,
        e.ExchangeFellBack, e.ReturnCancelled, e.ReturnRejected,
    )
)  # fmt: skip


class Returns:
    name = "returns"
    subscribes = _SUBSCRIBED
    in_order = True

    def __init__(self, ctx: ProcessContext) -> None:
        self._ctx = ctx

    async def handle(self, envelope: EventEnvelope) -> None:
        event = envelope.payload
        if not isinstance(event, e.ReturnEvent):
            return
        order = await self._ctx.order(event.order_id)
        ret = order.get_return(event.return_id)
        match event:
            case e.ReturnAuthorized():
                await self._authorized(order, ret, envelope)
            case e.ReturnInspected():
                await self._inspected(order, ret)
            case e.RefundIssued():
                await self._refunded(order, ret, event, envelope)
            case e.ReturnHeld():
                await self._held(order, ret, event, envelope)
            case e.ReplacementDue():
                await self._replacement_due(ret, event, envelope)
            case e.ExchangeFellBack() | e.ReturnCancelled() | e.ReturnRejected():
                await self._release_difference_payment(ret)

    async def _replacement_due(
        self, ret: Return, event: e.ReplacementDue, cause: EventEnvelope
    ) -> None:
        """Take what the replacement still costs from the difference payment (releasing what it
        does not need), then place the replacement: a declined payment places nothing."""
        if event.payment_reference is not None and event.payment_due > 0:
            await self._ctx.payment.capture(
                event.payment_reference,
                event.payment_due,
                event.currency,
                idempotency_key=f"exchange:{ret.id}",
            )
        elif event.payment_reference is not None:
            await self._ctx.payment.void(
                event.payment_reference, idempotency_key=f"exchange-void:{ret.id}"
            )
        await self._ctx.run(PlaceReplacement(return_id=ret.id), cause, ACTOR)

    async def _release_difference_payment(self, ret: Return) -> None:
        """No replacement (received in part, cancelled or rejected): the difference payment's
        authorization, if the exchange had one, is released."""
        payment = ret.exchange.payment if ret.exchange else None
        if payment is not None:
            await self._ctx.payment.void(
                payment.reference, idempotency_key=f"exchange-void:{ret.id}"
            )

    async def _authorized(self, order: Order, ret: Return, cause: EventEnvelope) -> None:
        if ret.is_withdrawn:
            return  # cancelled or rejected before the ERP heard of it: nothing to authorize there
        assert ret.rma_number is not None
        await self._ctx.erp.authorize_return(
            ErpReturn(
                return_id=ret.id,
                order_id=order.id,
                erp_order_ref=order.erp_order_ref or "",
                rma_number=ret.rma_number,
                lines=tuple(
                    ErpLine(
                        sku=ln.sku,
                        quantity=ln.quantity,
                        unit_price=ln.unit_price.amount,
                        tax_amount=ln.unit_tax.amount if ln.unit_tax else Decimal(0),
                    )
                    for ln in ret.lines
                ),
            )
        )
        await self._comment(ret, f"Return {ret.rma_number} authorized", cause)

    async def _inspected(self, order: Order, ret: Return) -> None:
        if ret.status is not ReturnStatus.INSPECTED or ret.refund_amount is None:
            return  # already past this step (a late redelivery)
        await self._ctx.erp.request_credit_memo(
            ret.id, ret.refund_amount.amount, ret.refund_amount.currency
        )

    async def _refunded(
        self, order: Order, ret: Return, event: e.RefundIssued, cause: EventEnvelope
    ) -> None:
        if event.amount > 0:
            await self._ctx.payment.refund(
                order.payment.reference,
                event.amount,
                event.currency,
                idempotency_key=f"refund:{ret.id}",
            )
        await self._ctx.commerce.push_status(
            CommerceStatus(
                channel=order.channel,
                channel_order_ref=order.channel_order_ref,
                status=event.payment_status,
                note=f"refund {event.amount} {event.currency} for return {ret.rma_number}",
            ),
            idempotency_key=f"{cause.event_id}:commerce",
        )
        await self._comment(ret, f"Refund of {event.amount} {event.currency} issued", cause)
        if ret.status is ReturnStatus.REFUNDED:
            await self._ctx.run(CloseReturn(return_id=ret.id), cause, ACTOR)

    async def _held(
        self, order: Order, ret: Return, event: e.ReturnHeld, cause: EventEnvelope
    ) -> None:
        """A credit memo that does not match the refund needs an agent: open (or find) a case."""
        case_id = ret.case_id or await self._ctx.crm.open_case(
            subject=f"Return {ret.rma_number} of order {order.channel_order_ref} needs review",
            description=event.reason,
            external_id=f"return-held:{ret.id}",
        )
        await self._ctx.run(LinkCase(order_id=order.id, case_id=case_id), cause, ACTOR)
        await self._ctx.crm.add_case_comment(
            case_id, event.reason, external_id=f"{cause.event_id}:held"
        )

    async def _comment(self, ret: Return, body: str, cause: EventEnvelope) -> None:
        if ret.case_id is not None:
            await self._ctx.crm.add_case_comment(
                ret.case_id, body, external_id=f"{cause.event_id}:crm"
            )

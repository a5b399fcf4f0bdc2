"""The message bus: routes each command to its handler, in one unit of work, retried on conflict."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from application import order_handlers as orders
from application import return_handlers as returns
from application import shipping_handlers as shipping
from application import stock_handlers as stock
from application.context import HandlerContext
from application.reactions import reactions_to
from application.reservation_expiry import expire_reservations
from domain import commands as c
from domain.errors import DomainError
from ports.outbox import EventEnvelope
from ports.unit_of_work import CommandMeta, ConcurrencyConflict, UnitOfWork, UnitOfWorkFactory

Handler = Callable[[Any, UnitOfWork, HandlerContext], Awaitable[Any]]
#: Told of every command handled: (command name, outcome, seconds). Outcome is "ok", a domain
#: error's code, "contention" after the last retry, or "error".
Observer = Callable[[str, str, float], None]

#: Runs inside the command's transaction after its handler, before commit (e.g. store the
#: response of an idempotent request); rerun with the command when the transaction is retried.
Finish = Callable[[Any, Any], Awaitable[None]]

COMMAND_HANDLERS: Final[Mapping[type[c.Command], Handler]] = {
    c.PlaceOrder: orders.place_order,
    c.AmendOrder: orders.amend_order,
    c.AddLines: orders.add_lines,
    c.RefuseAddedLines: orders.refuse_added_lines,
    c.CancelOrder: orders.cancel_order,
    c.FollowChannelCancellation: orders.follow_channel_cancellation,
    c.RecordChannelRefund: orders.record_channel_refund,
    c.IssueAppeasement: orders.issue_appeasement,
    c.HoldOrder: orders.hold_order,
    c.AddNote: orders.add_note,
    c.RecordIntegrationTrouble: orders.record_integration_trouble,
    c.CancelRemaining: orders.cancel_remaining,
    c.ResumeOrder: orders.resume_order,
    c.BookOrder: orders.book_order,
    c.RejectOrder: orders.reject_order,
    c.LinkCase: orders.link_case,
    c.RecordCaseUpdate: orders.record_case_update,
    c.RecordShipment: shipping.record_shipment,
    c.RecordDelivery: shipping.record_delivery,
    c.CapturePayment: shipping.capture_payment,
    c.FailPayment: shipping.fail_payment,
    c.RequestReturn: returns.request_return,
    c.AuthorizeReturn: returns.authorize_return,
    c.RejectReturn: returns.reject_return,
    c.CancelReturn: returns.cancel_return,
    c.ReceiveReturn: returns.receive_return,
    c.InspectReturn: returns.inspect_return,
    c.PostCreditMemo: returns.post_credit_memo,
    c.ReleaseReturnHold: returns.release_return_hold,
    c.AcceptCreditMemo: returns.accept_credit_memo,
    c.CloseReturn: returns.close_return,
    c.PlaceReplacement: returns.place_replacement_order,
    c.ApplyStockSnapshot: stock.apply_stock_snapshot,
    c.AdjustStock: stock.adjust_stock,
    c.FillBackorders: stock.fill_backorders,
    c.ExpireReservations: expire_reservations,
}


class _Duplicate:
    def __repr__(self) -> str:
        return "DUPLICATE"


#: What `handle(..., once=...)` returns for a message already processed.
DUPLICATE: Final = _Duplicate()

#: Attempts of one command when its transaction loses a race (optimistic lock, 40001, 40P01).
MAX_ATTEMPTS: Final = 8


class MessageBus:
    """Runs a command in its own unit of work and commits it; a `ConcurrencyConflict` reruns the
    whole command from a fresh read, with jittered exponential backoff."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        context: HandlerContext,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        base_delay: float = 0.002,
        observer: Observer | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._context = context
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._observer = observer

    async def handle(
        self,
        command: c.Command,
        meta: CommandMeta,
        finish: Finish | None = None,
        once: tuple[str, str] | None = None,
    ) -> Any:
        """Run `command`. With `once=(consumer, message_id)` it runs at most once per message:
        a message the consumer already processed returns `DUPLICATE` and changes nothing."""
        if self._observer is None:
            return await self._handle(command, meta, finish, once)
        started, outcome = time.perf_counter(), "error"
        try:
            result = await self._handle(command, meta, finish, once)
            outcome = "ok"
            return result
        except DomainError as e:
            outcome = e.code
            raise
        except ConcurrencyConflict:
            outcome = "contention"
            raise
        finally:
            self._observer(type(command).__name__, outcome, time.perf_counter() - started)

    async def _handle(
        self,
        command: c.Command,
        meta: CommandMeta,
        finish: Finish | None,
        once: tuple[str, str] | None,
    ) -> Any:
        handler = COMMAND_HANDLERS[type(command)]
        for attempt in range(1, self._max_attempts + 1):
            try:
                async with self._uow_factory(meta) as uow:
                    if once is not None:
                        if await uow.inbox.seen(*once):
                            return DUPLICATE
                        uow.inbox.add(*once)
                    result = await handler(command, uow, self._context)
                    if finish is not None:
                        await finish(result, uow)
                    await uow.commit()
                return result
            except ConcurrencyConflict:
                if attempt == self._max_attempts:
                    raise
                await asyncio.sleep(random.uniform(0, self._base_delay * 2**attempt))
        raise AssertionError("unreachable")

    async def react(self, envelope: EventEnvelope) -> list[c.Command]:
        """Run the hub's follow-up commands for one delivered event; returns what it ran."""
        follow_ups = reactions_to(envelope.payload)
        meta = CommandMeta(
            actor="hub",
            correlation_id=envelope.correlation_id,
            causation_id=str(envelope.event_id),
        )
        for command in follow_ups:
            await self.handle(command, meta)
        return follow_ups

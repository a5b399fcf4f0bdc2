"""What the process managers work with: the bus, reads of aggregates, and the remote ports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from application.bus import MessageBus
from domain.commands import Command
from domain.order import Order
from ports.clock import Clock
from ports.commerce import CommercePort
from ports.crm import CrmPort
from ports.erp import ErpPort
from ports.outbox import EventEnvelope
from ports.payment import PaymentPort
from ports.unit_of_work import CommandMeta, UnitOfWorkFactory


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessContext:
    bus: MessageBus
    uow_factory: UnitOfWorkFactory
    clock: Clock
    erp: ErpPort
    crm: CrmPort
    commerce: CommercePort
    payment: PaymentPort
    #: How long an order may sit reserved before the catch-up job treats it as waiting for the ERP.
    erp_grace: timedelta = timedelta(seconds=10)

    async def order(self, order_id: UUID) -> Order:
        async with self.uow_factory(CommandMeta(actor="hub", correlation_id="read")) as uow:
            return await uow.orders.get(order_id)

    async def order_of_return(self, return_id: UUID) -> Order:
        async with self.uow_factory(CommandMeta(actor="hub", correlation_id="read")) as uow:
            return await uow.orders.get_by_return(return_id)

    async def run(self, command: Command, cause: EventEnvelope | None, actor: str) -> Any:
        """A follow-up command, traced to the event that caused it (if an event did)."""
        meta = (
            CommandMeta(
                actor=actor, correlation_id=cause.correlation_id, causation_id=str(cause.event_id)
            )
            if cause is not None
            else CommandMeta(actor=actor, correlation_id=f"{actor}:{uuid.uuid4()}")
        )
        return await self.bus.handle(command, meta)

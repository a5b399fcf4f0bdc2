"""The application running on in-memory fakes, with the helpers tests use to drive it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from adapters.clock import FixedClock
from adapters.ids import SequentialIds
from adapters.memory.remote import InMemoryCommerce, InMemoryCrm, InMemoryErp, InMemoryPayments
from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.message_codec import MsgspecCodec
from application.bus import MessageBus
from application.context import HandlerContext
from application.process_managers.context import ProcessContext
from application.settings import HubSettings
from domain import commands as c
from domain.allocation import LocationPriority
from domain.inventory import StockKey, StockLevel
from domain.order import Order
from ports.commerce import CommercePort
from ports.crm import CrmPort
from ports.erp import ErpPort
from ports.outbox import EventEnvelope, Message
from ports.payment import PaymentPort
from ports.unit_of_work import CommandMeta

CHANNEL = CommandMeta(actor="key:web", correlation_id="test")


class Hub:
    def __init__(self, settings: HubSettings | None = None) -> None:
        self.store = InMemoryStore()
        self.clock = FixedClock()
        self.ids = SequentialIds()
        self.settings = settings or HubSettings(
            location_priority=LocationPriority(("dc-east", "dc-west")),
            reservation_ttl=timedelta(minutes=30),
        )
        context = HandlerContext(clock=self.clock, ids=self.ids, settings=self.settings)
        self.uow_factory = InMemoryUnitOfWorkFactory(self.store, self.clock, self.ids)
        self.bus = MessageBus(self.uow_factory, context)
        self._delivered = 0

    async def run(self, command: c.Command, meta: CommandMeta = CHANNEL) -> Any:
        return await self.bus.handle(command, meta)

    async def stock(self, sku: str, location: str, on_hand: int) -> None:
        level = self.store.stock.get(StockKey(sku, location))
        sequence = (level.last_sequence or 0) + 1 if level else 1
        await self.run(
            c.ApplyStockSnapshot(sku=sku, location=location, on_hand=on_hand, sequence=sequence)
        )

    async def drain(self) -> list[c.Command]:
        """Deliver every event not yet delivered to the hub's own reactions, until quiet."""
        ran: list[c.Command] = []
        while self._delivered < len(self.store.outbox):
            envelope = self.store.outbox[self._delivered]
            self._delivered += 1
            ran += await self.bus.react(envelope)
        return ran

    async def ship(self, order_id: UUID, sku: str, quantity: int, shipment_id: str = "S1") -> None:
        """The warehouse dispatches `quantity` of `sku` from dc-east."""
        await self.run(
            c.RecordShipment(
                order_id=order_id, shipment_id=shipment_id, location="dc-east", carrier="DHL",
                tracking_number="T1", lines=(c.SkuCount(sku=sku, quantity=quantity),),
                dispatched_at=self.clock.now(),
            )
        )  # fmt: skip

    def process_context(
        self,
        *,
        erp: ErpPort | None = None,
        crm: CrmPort | None = None,
        commerce: CommercePort | None = None,
        payment: PaymentPort | None = None,
    ) -> ProcessContext:
        """What a process manager works with, on this hub, each remote an in-memory fake unless
        given (keep a reference to read what it was told)."""
        return ProcessContext(
            bus=self.bus, uow_factory=self.uow_factory, clock=self.clock,
            erp=erp or InMemoryErp(), crm=crm or InMemoryCrm(),
            commerce=commerce or InMemoryCommerce(), payment=payment or InMemoryPayments(),
            erp_grace=timedelta(0),
        )  # fmt: skip

    def order(self, order_id: UUID) -> Order:
        return self.store.orders[order_id]

    def level(self, sku: str, location: str) -> StockLevel:
        return self.store.stock[StockKey(sku, location)]

    def events(self, order_id: UUID) -> list[EventEnvelope]:
        return self.store.events_of(str(order_id))

    def messages(self, order_id: UUID) -> list[Message]:
        """The order's events as the outbox stores them and the broker carries them."""
        codec = MsgspecCodec()
        return [codec.encode(e) for e in self.events(order_id)]

    def event_types(self, order_id: UUID) -> list[str]:
        return [e.event_type for e in self.events(order_id)]


def money(text: str) -> Decimal:
    return Decimal(text)

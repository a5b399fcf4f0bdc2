"""Integration trouble on the order's timeline (PRODUCT.md §8.3): the delivery says when a
delivery is failing, dead or through again (`outbox.delivery.Delivery`); this says which remote it
is about and records it on the order's stream, through the bus, in its own unit of work."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Final
from uuid import UUID

from application.bus import MessageBus
from domain.commands import RecordIntegrationTrouble
from domain.events import IntegrationEvent
from domain.integration_trouble import Trouble
from domain.order import Order
from ports.circuits import REMOTES
from ports.outbox import EventEnvelope
from ports.remote import RemoteError
from ports.unit_of_work import CommandMeta

#: Who records the trouble (the envelope's `actor`).
ACTOR: Final = "hub:deliveries"
#: The source of trouble that no remote is to blame for: the hub's own (its database away, an
#: event that came before one it needs, a bug).
HUB: Final = "hub"
#: The longest error summary recorded: enough to tell an operator what failed, never a page.
MAX_ERROR: Final = 200
#: Event types whose delivery calls one remote only: a remote error that named no remote (no
#: breaker or adapter did) is that remote's.
_ONE_REMOTE: Final[dict[str, str]] = {
    "InventoryReserved": "erp",
    "OrderResumed": "erp",
    "ReturnInspected": "erp",
    "PaymentVoided": "payment",
    "OvercaptureRefunded": "payment",
}

#: Takes secrets out of a text (the container's, from the settings' secrets).
Redact = Callable[[str], str]


def _as_is(text: str) -> str:
    return text


class TroubleReporter:
    """Records the integration trouble of the deliveries of `watched` consumers (those that call
    remote systems) of an order's events. Never the projection's: its deliveries make the
    timeline, and a failure to project the trouble must not be more trouble."""

    def __init__(self, bus: MessageBus, watched: Iterable[str], redact: Redact = _as_is) -> None:
        self._bus = bus
        self._watched = frozenset(watched)
        self._redact = redact

    def watches(self, consumer: str, envelope: EventEnvelope) -> bool:
        """Whether trouble of this delivery goes on a timeline: a watched consumer, an order's
        event, and not itself trouble (whoever hears of trouble, its own trouble tells no more)."""
        return (
            consumer in self._watched
            and envelope.aggregate_type == Order.aggregate_type
            and not isinstance(envelope.payload, IntegrationEvent)
        )

    def remote_of(self, event_type: str, error: BaseException | None) -> str:
        """The remote a failure is about: the one its error names, else the only one the event's
        delivery calls; `hub` for a failure that is no remote's."""
        if not isinstance(error, RemoteError):
            return HUB
        if error.remote in REMOTES:
            return error.remote
        return _ONE_REMOTE.get(event_type, HUB)

    async def report(self, trouble: Trouble, envelope: EventEnvelope) -> None:
        """Record `trouble` of the delivery of `envelope` on its order's stream, with its error
        cut to a short summary without secrets."""
        command = RecordIntegrationTrouble(
            order_id=UUID(envelope.aggregate_id),
            trouble=replace(trouble, error=self.summary(trouble.error)),
        )
        meta = CommandMeta(
            actor=ACTOR, correlation_id=envelope.correlation_id, causation_id=str(envelope.event_id)
        )
        await self._bus.handle(command, meta)

    def summary(self, error: str) -> str:
        """The first line of `error`, secrets taken out, at most `MAX_ERROR` characters."""
        first = self._redact(error.strip()).split("\n", 1)[0].strip()
        return first if len(first) <= MAX_ERROR else first[: MAX_ERROR - 1] + "…"

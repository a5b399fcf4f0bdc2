"""The hub's own follow-ups, as a consumer: released or arriving stock goes to backorders."""

from __future__ import annotations

from application.bus import MessageBus
from application.reactions import EVENT_REACTIONS
from ports.outbox import EventEnvelope


class HubReactions:
    name = "hub"
    subscribes = frozenset(cls.__name__ for cls in EVENT_REACTIONS)
    in_order = False  # its commands act on current state

    def __init__(self, bus: MessageBus) -> None:
        self._bus = bus

    async def handle(self, envelope: EventEnvelope) -> None:
        await self._bus.react(envelope)

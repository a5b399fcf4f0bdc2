"""Consumers of delivered events: what each subscribes to, and the error that says "not yet"."""

from __future__ import annotations

from typing import ClassVar, Protocol

from ports.outbox import EventEnvelope


class NotYet(Exception):
    """Raised by a consumer when an event came before one it depends on (a gap in an aggregate's
    stream, a shipment not known yet). Delivering it again later will succeed."""


class Consumer(Protocol):
    """Receives the events it subscribes to, at least once and possibly out of order: it must
    make a repeated or late delivery harmless. `name` and `subscribes` are class attributes, so
    the relay knows who gets what without building the consumers."""

    name: ClassVar[str]
    subscribes: ClassVar[frozenset[str]]
    #: True: an aggregate's events reach this consumer in stream order. An event waits while an
    #: earlier event of the same aggregate that this consumer subscribes to is neither processed
    #: nor dead (a process manager must not request a credit memo before the return it refers to
    #: was authorized, nor push "booked" after "shipped").
    in_order: ClassVar[bool]

    async def handle(self, envelope: EventEnvelope) -> None: ...

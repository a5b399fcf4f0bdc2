"""Consumers of delivered events: what each subscribes to, and the errors that say what went wrong."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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


def subscriptions(consumers: Iterable[type[Consumer]]) -> Callable[[str], list[str]]:
    """event type -> names of the consumers that subscribe to it."""
    table: dict[str, list[str]] = {}
    for consumer in consumers:
        for event_type in consumer.subscribes:
            table.setdefault(event_type, []).append(consumer.name)
    return lambda event_type: table.get(event_type, [])


def newest_only(consumers: Iterable[type[Consumer]]) -> frozenset[str]:
    """Consumers that declare `catches_up = True`: handling an aggregate's newest event applies
    every earlier one too and marks their deliveries done, so of a batch the relay sends them
    one message per aggregate."""
    return frozenset(c.name for c in consumers if getattr(c, "catches_up", False))

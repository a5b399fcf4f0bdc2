"""Who hears what: the consumers of delivered events, by event type, as the relay and the
worker see them."""

from __future__ import annotations

from collections.abc import Iterable

from application.consumers import Consumer


class ConsumerRegistry:
    """Built from consumer classes (their `name`, `subscribes` and `catches_up` are class
    attributes), so the relay knows who gets what without building the consumers."""

    def __init__(self, consumers: Iterable[type[Consumer]]) -> None:
        self._consumers = tuple(consumers)
        self._by_event: dict[str, list[str]] = {}
        for consumer in self._consumers:
            for event_type in consumer.subscribes:
                self._by_event.setdefault(event_type, []).append(consumer.name)
        #: Consumers that declare `catches_up = True`: handling an aggregate's newest event
        #: applies every earlier one too and finishes their deliveries, so of a relay batch they
        #: are sent one message per aggregate.
        self.newest_only = frozenset(
            c.name for c in self._consumers if getattr(c, "catches_up", False)
        )
        #: Consumers that declare `on_demand = True`: they hear events only for someone (the
        #: webhooks consumer, for its subscribers), so the relay sends them none while
        #: nobody listens (`ports.audience`).
        self.on_demand = frozenset(
            c.name for c in self._consumers if getattr(c, "on_demand", False)
        )

    @property
    def names(self) -> list[str]:
        return [c.name for c in self._consumers]

    def consumers_of(self, event_type: str) -> list[str]:
        """Names of the consumers that subscribe to `event_type`, in registration order."""
        return self._by_event.get(event_type, [])

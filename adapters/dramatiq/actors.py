"""Dramatiq actors at the edge: one per consumer and queue, a few lines each (decode, deliver,
ask for a retry). The delivery itself is built lazily, on the worker's event loop."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from dramatiq import Actor, Broker, Retry

from outbox.delivery import Delivery


def queue_of(consumer: str) -> str:
    return f"orderhub.{consumer}"


def declare_actors(
    broker: Broker, consumers: Iterable[str], delivery: Callable[[], Delivery]
) -> dict[str, Actor[Any, Any]]:
    """One actor per consumer. The relay declares them to publish; the worker to consume."""
    actors: dict[str, Actor[Any, Any]] = {}
    for name in consumers:
        actors[name] = Actor(
            _deliverer(name, delivery),
            broker=broker,
            actor_name=f"deliver_to_{name}",
            queue_name=queue_of(name),
            priority=0,
            options={},
        )
    return actors


def _deliverer(consumer: str, delivery: Callable[[], Delivery]) -> Callable[[dict[str, Any]], Any]:
    async def deliver(message: dict[str, Any]) -> None:
        result = await delivery().deliver(consumer, message)
        if result.retry_in_ms is not None:
            raise Retry(delay=result.retry_in_ms)

    deliver.__name__ = f"deliver_to_{consumer}"
    return deliver

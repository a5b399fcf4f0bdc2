"""Dramatiq actors at the edge: two per consumer on its queue, a few lines each (one message or a
batch of them; deliver; ask for a retry). The delivery itself is built lazily, on the worker's
event loop."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dramatiq import Actor, Broker, Retry

from outbox.delivery import Delivery


def queue_of(consumer: str) -> str:
    return f"orderhub.{consumer}"


@dataclass(frozen=True, slots=True)
class ConsumerActors:
    """A consumer's actors: `one` takes a message, `many` a list of them (a relay batch's
    messages to this consumer: one broker message, one round of bookkeeping)."""

    one: Actor[Any, Any]
    many: Actor[Any, Any]


def declare_actors(
    broker: Broker, consumers: Iterable[str], delivery: Callable[[], Delivery]
) -> dict[str, ConsumerActors]:
    """The relay declares them to publish; the worker to consume."""
    actors: dict[str, ConsumerActors] = {}
    for name in consumers:
        one = _actor(broker, name, f"deliver_to_{name}", _deliverer(name, delivery))
        many = _actor(
            broker, name, f"deliver_batch_to_{name}", _batch_deliverer(name, delivery, one)
        )
        actors[name] = ConsumerActors(one, many)
    return actors


def _actor(broker: Broker, consumer: str, name: str, fn: Callable[..., Any]) -> Actor[Any, Any]:
    fn.__name__ = name
    return Actor(fn, broker=broker, actor_name=name, queue_name=queue_of(consumer), priority=0,
                 options={})  # fmt: skip


def _deliverer(consumer: str, delivery: Callable[[], Delivery]) -> Callable[[dict[str, Any]], Any]:
    async def deliver(message: dict[str, Any]) -> None:
        result = await delivery().deliver(consumer, message)
        if result.retry_in_ms is not None:
            raise Retry(delay=result.retry_in_ms)

    return deliver


def _batch_deliverer(
    consumer: str, delivery: Callable[[], Delivery], one: Actor[Any, Any]
) -> Callable[[Sequence[dict[str, Any]]], Any]:
    """Each message of the batch to be tried again goes back to the queue on its own, with its
    delay (were that send lost, its delivery's due time has the relay publish it again)."""

    async def deliver_batch(messages: Sequence[dict[str, Any]]) -> None:
        results = await delivery().deliver_many(consumer, messages)
        for message, result in zip(messages, results, strict=True):
            if result.retry_in_ms is not None:
                one.send_with_options(args=(message,), delay=result.retry_in_ms)

    return deliver_batch

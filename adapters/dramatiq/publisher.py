"""Publishing delivery messages to the broker: a publication's messages to one consumer go as
one broker message (up to `BATCH`), sent together."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import uuid4

from dramatiq import Broker, Message
from dramatiq.brokers.redis import RedisBroker

from adapters.dramatiq.actors import ConsumerActors

logger = logging.getLogger("orderhub.publisher")

Outgoing = tuple[str, dict[str, Any]]  # (consumer, message)
#: Most deliveries in one broker message: a batch runs its events one after the other, so a
#: long one delays its last event (and must end well within the broker's time limit).
BATCH = 50


class DramatiqPublisher:
    """Sends to the consumer's actor queue; on Redis, a whole batch goes in one pipeline (one
    round trip instead of one per message)."""

    def __init__(self, broker: Broker, actors: Mapping[str, ConsumerActors]) -> None:
        self._broker = broker
        self._actors = actors

    def publish(self, outgoing: Sequence[Outgoing]) -> None:
        by_consumer: dict[str, list[dict[str, Any]]] = {}
        for consumer, message in outgoing:
            by_consumer.setdefault(consumer, []).append(message)
        messages: list[Message[Any]] = []
        for consumer, theirs in by_consumer.items():
            actors = self._actors[consumer]
            for start in range(0, len(theirs), BATCH):
                chunk = theirs[start : start + BATCH]
                one = len(chunk) == 1
                messages.append(actors.one.message(chunk[0]) if one else actors.many.message(chunk))
        if isinstance(self._broker, RedisBroker) and hasattr(self._broker, "scripts"):
            self._publish_pipelined(self._broker, messages)
        else:
            for each in messages:
                self._broker.enqueue(each)

    @staticmethod
    def _publish_pipelined(broker: RedisBroker, messages: list[Message[Any]]) -> None:
        """What `RedisBroker.enqueue` does per message, with all the dispatches in one pipeline."""
        dispatch = broker.scripts["dispatch"]
        prepared = []
        for original in messages:
            message = original.copy(options={"redis_message_id": str(uuid4())})
            broker.emit_before("enqueue", message, None)
            prepared.append(message)
        with broker.client.pipeline(transaction=False) as pipe:
            for message in prepared:
                dispatch(
                    keys=[broker.namespace],
                    args=[
                        "enqueue",
                        _now_ms(),
                        message.queue_name,
                        broker.broker_id,
                        broker.heartbeat_timeout,
                        broker.dead_message_ttl,
                        broker._should_do_maintenance("enqueue"),
                        broker._max_unpack_size(),  # type: ignore[no-untyped-call]
                        message.options["redis_message_id"],
                        message.encode(),
                    ],
                    client=pipe,
                )
            pipe.execute()
        for message in prepared:
            broker.emit_after("enqueue", message, None)


def _now_ms() -> int:
    return int(time.time() * 1000)

"""Publishing delivery messages to the broker: one message per (event, consumer), batched."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import uuid4

from dramatiq import Actor, Broker, Message
from dramatiq.brokers.redis import RedisBroker

logger = logging.getLogger("orderhub.publisher")

Outgoing = tuple[str, dict[str, Any]]  # (consumer, message)


class DramatiqPublisher:
    """Sends to the consumer's actor queue; on Redis, a whole batch goes in one pipeline (one
    round trip instead of one per message)."""

    def __init__(self, broker: Broker, actors: Mapping[str, Actor[Any, Any]]) -> None:
        self._broker = broker
        self._actors = actors

    def publish(self, outgoing: Sequence[Outgoing]) -> None:
        messages = [self._actors[consumer].message(message) for consumer, message in outgoing]
        if isinstance(self._broker, RedisBroker) and hasattr(self._broker, "scripts"):
            self._publish_pipelined(self._broker, messages)
        else:
            for message in messages:
                self._broker.enqueue(message)

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

"""The Dramatiq broker for BROKER_URL: Redis, RabbitMQ, or in-process for the embedded default."""

from __future__ import annotations

from typing import Any

import dramatiq
import msgspec
from dramatiq import Broker, Retry
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.encoder import Encoder
from dramatiq.errors import DecodeError
from dramatiq.middleware import (
    AgeLimit,
    AsyncIO,
    Callbacks,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

#: A worker silent this long is dead, and its unacknowledged messages go back to their queue...
HEARTBEAT_TIMEOUT_MS = 10_000
#: ...at the next maintenance pass, which 1 in 20 broker commands runs (Dramatiq's default is 1 in
#: 1000, which on a quiet system leaves a killed worker's messages stranded for hours).
MAINTENANCE_CHANCE = 50_000
#: A message processing longer than this is interrupted (and retried).
TIME_LIMIT_MS = 60_000


def _retry_requested(retries: int, exception: BaseException) -> bool:
    """Only our own `Retry` (with its delay) is retried by Dramatiq; every other failure has
    already been recorded and parked by the delivery itself."""
    return isinstance(exception, Retry)


class MsgspecEncoder(Encoder):
    """The same JSON as Dramatiq's default encoder, written and read by msgspec: encoding was the
    largest CPU cost of the relay (bench/README.md, "relay")."""

    def encode(self, data: dict[str, Any]) -> bytes:
        return msgspec.json.encode(data)

    def decode(self, data: bytes) -> dict[str, Any]:
        try:
            decoded = msgspec.json.decode(data)
        except msgspec.DecodeError as e:
            raise _undecodable(data, e) from None
        if not isinstance(decoded, dict):
            raise _undecodable(data, None)
        return decoded


def _undecodable(data: bytes, error: Exception | None) -> DecodeError:
    return DecodeError(f"not a message: {data[:200]!r}", data, error)  # type: ignore[no-untyped-call]


def make_broker(url: str) -> Broker:
    dramatiq.set_encoder(MsgspecEncoder())  # process-wide: every broker of ours speaks it
    middleware = [
        AgeLimit(),
        TimeLimit(time_limit=TIME_LIMIT_MS),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(retry_when=_retry_requested),
        AsyncIO(),
    ]
    if url.startswith(("redis://", "rediss://")):
        return RedisBroker(  # type: ignore[no-untyped-call]
            url=url,
            namespace="orderhub",
            middleware=middleware,
            heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
            maintenance_chance=MAINTENANCE_CHANCE,
        )
    if url.startswith("amqp://"):
        return RabbitmqBroker(url=url, middleware=middleware, confirm_delivery=True)
    return StubBroker(middleware=middleware)

"""Readiness (PRODUCT.md §8.7): what a process needs before it takes work, each check named: the
database answers, its schema is not older than the code, the broker answers. Any failure makes
`/health/ready` answer 503 with what is down; no check says more than its kind of failure."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import msgspec
import pika
from dramatiq import Broker
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import ping
from adapters.sql.migrate import current_revision, head_revision, schema_behind

OK = "ok"
#: How long one check may take before it counts as down.
TIMEOUT = 2.0


class Health(msgspec.Struct, kw_only=True):
    status: str
    checks: dict[str, str] = {}


class Readiness:
    def __init__(self, engine: AsyncEngine, broker: Broker | None) -> None:
        self._engine = engine
        self._broker = broker
        self._head = head_revision()

    async def check(self) -> Health:
        checks = {
            "database": await _within(self._database),
            "schema": await _within(self._schema),
            "broker": await _within(self._broker_answers),
        }
        ready = all(v == OK or v.startswith("ok ") for v in checks.values())
        return Health(status="ok" if ready else "unavailable", checks=checks)

    async def _database(self) -> str:
        await ping(self._engine)
        return OK

    async def _schema(self) -> str:
        current = await current_revision(self._engine)
        if schema_behind(current):
            return (
                f"behind: at {current or 'nothing'}, the code needs {self._head} (orderhub migrate)"
            )
        return (
            OK
            if current == self._head
            else f"ok (at {current}, newer than the code's {self._head})"
        )

    async def _broker_answers(self) -> str:
        broker = self._broker
        if isinstance(broker, RedisBroker):
            await asyncio.to_thread(broker.client.ping)
        elif isinstance(broker, RabbitmqBroker):
            await asyncio.to_thread(_open_and_close, broker)
        else:
            return "ok (in process)"
        return OK


def _open_and_close(broker: RabbitmqBroker) -> None:
    pika.BlockingConnection(broker.parameters).close()


async def _within(check: Callable[[], Awaitable[str]]) -> str:
    try:
        async with asyncio.timeout(TIMEOUT):
            return await check()
    except Exception as e:  # noqa: BLE001 - any failure means not ready; its kind, no details
        return f"unavailable: {type(e).__name__}"

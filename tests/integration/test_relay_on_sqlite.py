"""The relay as the container builds it, on SQLite (the embedded default): asking who listens
to the webhooks consumer while its claim holds the write lock must not wait for that lock."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from domain import commands as c
from entrypoints.container import build_container, dispose_engines
from entrypoints.settings import Settings
from ports.unit_of_work import CommandMeta


async def test_a_relay_batch_on_sqlite_completes_while_nobody_subscribes(sqlite_url: str) -> None:
    container = build_container(replace(Settings(), database_url=sqlite_url))
    container.actors()  # the relay publishes through the actors' queues (in process here)
    try:
        await container.bus().handle(
            c.ApplyStockSnapshot(sku="MUG", location="dc-east", on_hand=5, sequence=1),
            CommandMeta(actor="test", correlation_id="relay-on-sqlite"),
        )

        relayed = await asyncio.wait_for(container.relay().relay_once(), timeout=10)

        assert relayed >= 1
    finally:
        await dispose_engines(container)

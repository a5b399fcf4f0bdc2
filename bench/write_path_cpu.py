"""CPU per placed order on the write path alone: three-line orders through the bus and the SQL unit
of work on PostgreSQL, in this process, no HTTP and no load generator. A throughput-free figure:
process CPU time does not move with what else the machine is doing the way req/s does.

    .venv/bin/python -m bench.write_path_cpu [ORDERS]      # default 2000, after 200 warm-up orders

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust); makes and drops its own database."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from dataclasses import replace
from decimal import Decimal

import asyncpg

from adapters.sql.migrate import migrate
from domain import commands as c
from entrypoints.container import build_container
from entrypoints.settings import Settings
from ports.unit_of_work import CommandMeta
from tests.factories import LineSpecFactory, PlaceOrderFactory

SKUS = 30
WARM_UP = 200
META = CommandMeta(actor="channel:web:bench", correlation_id="bench")


def _orders(n: int) -> list[c.PlaceOrder]:
    return [
        PlaceOrderFactory(
            lines=tuple(
                LineSpecFactory(sku=f"SKU-{(k * 3 + j) % SKUS}", quantity=1, unit_price=Decimal(5))
                for j in range(3)
            )
        )
        for k in range(n)
    ]


async def measure(orders: int) -> float:
    """Milliseconds of this process's CPU per order."""
    name = f"orderhub_bench_cpu_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(host="127.0.0.1", user="postgres", database="postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+asyncpg://postgres@127.0.0.1/{name}"
        container = build_container(replace(Settings(), database_url=url))
        await migrate(container.engine())
        bus = container.bus()
        for i in range(SKUS):
            snapshot = c.ApplyStockSnapshot(
                sku=f"SKU-{i}", location="dc-east", on_hand=10**6, sequence=1
            )
            await bus.handle(snapshot, META)
        commands = _orders(orders + WARM_UP)
        for command in commands[:WARM_UP]:
            await bus.handle(command, META)
        started = time.process_time()
        for command in commands[WARM_UP:]:
            await bus.handle(command, META)
        cpu = time.process_time() - started
        await container.engine().dispose()
        return cpu / orders * 1000
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    orders = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print(
        f"write path: {asyncio.run(measure(orders)):.3f} ms of CPU per 3-line order ({orders} orders)"
    )


if __name__ == "__main__":
    main()

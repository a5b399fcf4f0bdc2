"""The stuck-workflow gauge counts every stuck workflow in the database, not the page of 100 that
`GET /v1/ops/stuck` lists (issue 19: the gauge could never read above 100)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import FixedClock
from adapters.sql.circuit_board import SqlCircuitBoard
from adapters.sql.operations_reader import SqlOperationsReader
from adapters.sql.schema import order_views
from entrypoints.metrics import HubState
from read_models.operations import Operations
from read_models.remotes import Remotes

NOW = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
#: Past the default booking SLA (15 minutes).
PLACED = NOW - timedelta(hours=1)
STUCK_ORDERS = 130


async def test_the_stuck_gauge_reads_every_stuck_order_past_the_listings_page(
    postgres_engine: AsyncEngine,
) -> None:
    async with postgres_engine.begin() as conn:
        await conn.execute(
            insert(order_views),
            [
                {
                    "order_id": uuid4(), "version": 2, "channel": "web",
                    "channel_order_ref": f"WEB-{i}", "status": "reserved",
                    "customer_email": "ann@example.com", "erp_order_ref": None,
                    "created_at": PLACED, "last_event_at": PLACED, "document": {},
                    "return_documents": {},
                }
                for i in range(STUCK_ORDERS)
            ],
        )  # fmt: skip
    reader = SqlOperationsReader(postgres_engine)
    operations = Operations(reader, FixedClock(NOW))
    state = HubState(operations, Remotes(SqlCircuitBoard(postgres_engine), reader))

    body = (await state.scrape()).decode()

    listed = await operations.stuck(NOW)
    assert len(listed) == 100  # the listing's page
    shown = re.search(r'^orderhub_stuck_workflows\{kind="not_booked"\} (\S+)$', body, re.M)
    assert shown is not None
    assert float(shown.group(1)) == STUCK_ORDERS

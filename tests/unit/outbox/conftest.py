"""A pipeline on the in-memory ports (`tests.unit.outbox.pipeline`), and an order relayed on it."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from outbox.policy import DeliveryPolicy
from tests.unit.outbox.pipeline import Pipeline, build_pipeline

#: Few attempts, so giving up is quick to reach; backoff bounds easy to check.
POLICY = DeliveryPolicy(
    max_attempts=3,
    min_backoff_ms=200,
    max_backoff_ms=5_000,
    redelivery_timeout=timedelta(seconds=30),
)


@pytest.fixture
def pipeline() -> Pipeline:
    return build_pipeline(POLICY)


async def relayed_order(pipeline: Pipeline) -> UUID:
    """An order placed and reserved (two events), relayed: its deliveries are recorded and the
    publisher holds their messages."""
    await pipeline.hub.stock("MUG", "dc-east", 10)
    placed = await pipeline.place_order()
    await pipeline.relay_until_quiet()
    return placed


@pytest.fixture
async def order_id(pipeline: Pipeline) -> UUID:
    return await relayed_order(pipeline)

"""Races on the real PostgreSQL: truly concurrent transactions on separate connections."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import DuplicateOrder, InsufficientStock
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.integration.backends import SqlBackend


def one_unit_of(sku: str) -> object:
    return PlaceOrderFactory(lines=(LineSpecFactory(sku=sku, quantity=1, unit_price=Decimal("5")),))


async def test_a_hundred_concurrent_orders_for_the_last_five_units_reserve_exactly_five(
    postgres_engine: AsyncEngine,
) -> None:
    backend = SqlBackend(postgres_engine)
    await backend.stock("LAST", "dc-east", 3)
    await backend.stock("LAST", "dc-west", 2)

    outcomes = await asyncio.gather(
        *(backend.run(one_unit_of("LAST")) for _ in range(100)), return_exceptions=True
    )

    kinds = Counter(type(o).__name__ for o in outcomes)
    assert kinds == {"UUID": 5, "InsufficientStock": 95}, kinds
    assert await backend.level("LAST", "dc-east") == (3, 3)
    assert await backend.level("LAST", "dc-west") == (2, 2)
    placed = [r for r in await backend.outbox() if r.event_type == "OrderPlaced"]
    assert len(placed) == 5
    assert all(isinstance(o, InsufficientStock) for o in outcomes if not hasattr(o, "hex"))


async def test_two_orders_racing_on_one_channel_reference_make_one_order(
    postgres_engine: AsyncEngine,
) -> None:
    backend = SqlBackend(postgres_engine)
    await backend.stock("SKU", "dc-east", 100)
    place = one_unit_of("SKU")

    outcomes = await asyncio.gather(
        *(backend.run(place) for _ in range(10)), return_exceptions=True
    )

    created = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, DuplicateOrder)]
    assert len(created) == 1
    assert len(refused) == 9
    assert {r.existing_id for r in refused} == {created[0]}
    assert await backend.level("SKU", "dc-east") == (100, 1)


def three_lines(*skus: str) -> object:
    return PlaceOrderFactory(
        lines=tuple(LineSpecFactory(sku=s, quantity=1, unit_price=Decimal("5")) for s in skus)
    )


async def test_concurrent_orders_of_three_hot_skus_in_any_line_order_reserve_exactly(
    postgres_engine: AsyncEngine,
) -> None:
    """A flash sale: every order locks the same three levels (in one statement each, in key
    order): no deadlock, no lost update, and the last units go to exactly as many orders."""
    backend = SqlBackend(postgres_engine)
    for sku in ("HOT-A", "HOT-B", "HOT-C"):
        await backend.stock(sku, "dc-east", 30)
    orders = [("HOT-A", "HOT-B", "HOT-C"), ("HOT-C", "HOT-B", "HOT-A"), ("HOT-B", "HOT-C", "HOT-A")]

    outcomes = await asyncio.gather(
        *(backend.run(three_lines(*orders[i % 3])) for i in range(40)), return_exceptions=True
    )

    kinds = Counter(type(o).__name__ for o in outcomes)
    assert kinds == {"UUID": 30, "InsufficientStock": 10}, kinds
    for sku in ("HOT-A", "HOT-B", "HOT-C"):
        assert await backend.level(sku, "dc-east") == (30, 30)

"""Live projection under duplicated and shuffled delivery equals a rebuild from the outbox, and
each order's view equals what the write side renders (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import SystemClock
from adapters.message_codec import MsgspecCodec
from adapters.sql.outbox_store import message_of
from adapters.sql.schema import (
    order_view_cases,
    order_view_returns,
    order_views,
    outbox,
    timeline_entries,
)
from adapters.sql.view_store import SqlViewStore
from domain import commands as c
from domain.returns import Disposition, ReturnLineSpec
from entrypoints.http.resources import order_resource, return_resource
from read_models.projector import OrderProjection, rebuild
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.integration.backends import SqlBackend


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> AsyncEngine:
    return request.getfixturevalue(f"{request.param}_engine")


async def some_history(backend: SqlBackend) -> list[Any]:
    await backend.stock("MUG", "dc-east", 20)
    await backend.stock("MUG", "dc-west", 2)
    orders = []
    for n in range(6):
        oid = await backend.run(
            PlaceOrderFactory(
                lines=(LineSpecFactory(sku="MUG", quantity=1 + n % 3, unit_price=Decimal("9.50")),)
            )
        )
        orders.append(oid)
    a, b, d, e = orders[0], orders[1], orders[3], orders[4]
    await backend.run(c.CancelOrder(order_id=b, reason="changed mind"))
    await backend.run(c.HoldOrder(order_id=d, reason="fraud check"))
    await backend.run(c.LinkCase(order_id=d, case_id="500Z00000000000"))
    for oid in (a, e):
        await backend.run(c.BookOrder(order_id=oid, erp_order_ref=f"SO-{oid.hex[:6]}"))
        order = await backend.order(oid)
        await backend.run(c.RecordShipment(
            order_id=oid, shipment_id=f"S-{oid.hex[:4]}", location="dc-east", carrier="UPS", tracking_number="1Z",
            lines=(c.SkuCount(sku="MUG", quantity=order.lines[0].quantity),), dispatched_at=backend.clock.now(),
        ))  # fmt: skip
        await backend.run(c.CapturePayment(order_id=oid))
        await backend.run(
            c.RecordDelivery(
                order_id=oid, shipment_id=f"S-{oid.hex[:4]}", delivered_at=backend.clock.now()
            )
        )
    backend.clock.advance(timedelta(days=1))
    ret = await backend.run(
        c.RequestReturn(
            order_id=a, lines=(ReturnLineSpec(sku="MUG", quantity=1, reason="chipped"),)
        )
    )
    await backend.run(c.ReceiveReturn(return_id=ret, lines=(c.SkuCount(sku="MUG", quantity=1),)))
    await backend.run(
        c.InspectReturn(
            return_id=ret, lines=(c.InspectedSku(sku="MUG", disposition=Disposition.SCRAP),)
        )
    )
    await backend.run(
        c.PostCreditMemo(return_id=ret, credit_memo_ref="CM-1", amount=Decimal("9.50"))
    )
    return orders


async def snapshot(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        views = {r.order_id: (r.version, r.status, r.customer_email, r.erp_order_ref, r.document,
                              r.return_documents)
                 for r in await conn.execute(select(order_views))}  # fmt: skip
        returns = sorted(
            (r.return_id, r.order_id) for r in await conn.execute(select(order_view_returns))
        )
        cases = sorted(
            (r.case_id, r.order_id) for r in await conn.execute(select(order_view_cases))
        )
        entries = sorted(
            (
                r.order_id,
                r.aggregate_version,
                r.event_id,
                r.source,
                r.kind,
                r.title,
                msgspec.json.encode(r.detail),
            )
            for r in await conn.execute(select(timeline_entries))
        )
    return {"views": views, "cases": cases, "returns": returns, "entries": entries}


async def test_live_projection_with_duplicates_and_shuffling_equals_a_rebuild(
    engine: AsyncEngine,
) -> None:
    backend = SqlBackend(engine)
    orders = await some_history(backend)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(outbox).where(outbox.c.aggregate_type == "order"))).all()
    codec = MsgspecCodec()
    deliveries = [codec.decode(message_of(r)) for r in rows]
    deliveries += random.Random(7).sample(deliveries, k=len(deliveries) // 2)  # duplicates
    random.Random(11).shuffle(deliveries)
    views = SqlViewStore(engine)
    projection = OrderProjection(views, SystemClock())
    for envelope in deliveries:
        await projection.handle(envelope)

    live = await snapshot(engine)
    assert await rebuild(views) == len(orders)
    assert await snapshot(engine) == live
    assert await rebuild(views, page_size=3) == len(orders)  # pages split orders' streams
    assert await snapshot(engine) == live

    for oid in orders:
        order = await backend.order(oid)
        assert live["views"][oid][4] == msgspec.to_builtins(order_resource(order))
        assert live["views"][oid][5] == {
            str(rid): msgspec.to_builtins(return_resource(ret))
            for rid, ret in order.returns.items()
        }
    assert len(live["returns"]) == 1
    assert len(live["entries"]) == len(rows)  # every order event has its timeline entry, once
    assert live["cases"] == [("500Z00000000000", orders[3])]

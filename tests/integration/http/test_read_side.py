"""The order list and the timeline over HTTP, served from the read models."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from adapters.message_codec import MsgspecCodec
from adapters.sql.outbox_store import message_of
from adapters.sql.schema import order_view_returns, order_views, outbox
from tests.integration.http import requests
from tests.integration.http.channel import order_body, place, stock
from tests.integration.http.conftest import Api


async def project(api: Api) -> None:
    """What the projection worker does, inline: deliver every order event."""
    engine = api.container.engine()
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(outbox).where(outbox.c.aggregate_type == "order").order_by(outbox.c.id)
            )
        ).all()
    projection, codec = api.container.projection(), MsgspecCodec()
    for row in rows:
        await projection.handle(codec.decode(message_of(row)))


def with_customer(body: dict[str, Any], email: str) -> dict[str, Any]:
    return {**body, "customer": {**body["customer"], "email": email}}


async def test_agents_find_orders_by_customer_and_page_through_them(api: Api) -> None:
    await stock(api, "MUG-1", "dc-east", 50)
    ids = []
    for n in range(3):
        api.clock.advance(timedelta(minutes=1))
        placed = await place(
            api, with_customer(order_body(f"W-{n}"), "Zoe@Example.com"), key=f"k-{n}"
        )
        ids.append(placed.json()["id"])
    await place(api, with_customer(order_body("W-other"), "ben@example.com"), key="k-o")
    await project(api)

    first = (
        await api.client.get(
            "/v1/orders?customer_email=zoe@example.com&limit=2", headers=api.auth("agent")
        )
    ).json()
    assert [o["id"] for o in first["items"]] == [ids[2], ids[1]]
    rest = (await api.client.get(f"/v1/orders?customer_email=zoe@example.com&limit=2&cursor={first['next_cursor']}",
                                 headers=api.auth("agent"))).json()  # fmt: skip
    assert ([o["id"] for o in rest["items"]], rest["next_cursor"]) == ([ids[0]], None)
    by_ref = (
        await api.client.get(
            "/v1/orders?channel=web&channel_order_ref=W-1", headers=api.auth("agent")
        )
    ).json()
    assert [o["id"] for o in by_ref["items"]] == [ids[1]]
    assert (await api.client.get("/v1/orders?cursor=nonsense", headers=api.auth("agent"))).json()[
        "code"
    ] == "invalid_cursor"


async def test_a_channel_lists_only_its_own_orders(api: Api) -> None:
    await stock(api, "MUG-1", "dc-east", 50)
    await place(api, order_body("W-1"), key="k-1")
    await project(api)
    assert len((await api.client.get("/v1/orders", headers=api.auth("web"))).json()["items"]) == 1
    assert (await api.client.get("/v1/orders", headers=api.auth("pos"))).json()["items"] == []
    assert (await api.client.get("/v1/orders?channel=web", headers=api.auth("pos"))).json()[
        "items"
    ] == []


async def test_the_timeline_tells_the_order_s_story_oldest_first(api: Api) -> None:
    await stock(api, "MUG-1", "dc-east", 50)
    oid = (await place(api, order_body("W-9"), key="k-9")).json()["id"]
    await api.client.post(
        f"/v1/orders/{oid}/case", headers=api.auth("agent"), json={"case_id": "500Q00000000000"}
    )
    await api.client.post(
        f"/v1/orders/{oid}/cancel", headers=api.auth("web"), json={"reason": "changed mind"}
    )
    await project(api)

    timeline = (
        await api.client.get(f"/v1/orders/{oid}/timeline", headers=api.auth("agent"))
    ).json()
    assert [(e["source"], e["kind"]) for e in timeline["items"]] == [
        ("channel", "order.placed"), ("hub", "inventory.reserved"), ("agent", "case.linked"),
        ("channel", "order.cancelled"), ("payment", "payment.voided"),
    ]  # fmt: skip
    assert timeline["items"][0]["title"] == "Order W-9 placed on web: 2 × MUG-1, 25.00 EUR"
    assert timeline["next_cursor"] is None
    paged = (
        await api.client.get(f"/v1/orders/{oid}/timeline?limit=2", headers=api.auth("agent"))
    ).json()
    more = (
        await api.client.get(
            f"/v1/orders/{oid}/timeline?limit=10&cursor={paged['next_cursor']}",
            headers=api.auth("agent"),
        )
    ).json()
    assert [e["kind"] for e in paged["items"] + more["items"]] == [
        e["kind"] for e in timeline["items"]
    ]
    assert (
        await api.client.get(f"/v1/orders/{oid}/timeline", headers=api.auth("pos"))
    ).status_code == 404
    by_case = (
        await api.client.get("/v1/orders?case_id=500Q00000000000", headers=api.auth("agent"))
    ).json()
    assert [o["id"] for o in by_case["items"]] == [oid]


async def test_ops_rebuild_the_read_models_to_what_live_projection_made(api: Api) -> None:
    await stock(api, "MUG-1", "dc-east", 50)
    oid = (await place(api, order_body("W-7"), key="k-7")).json()["id"]
    await project(api)
    before = (await api.client.get(f"/v1/orders/{oid}/timeline", headers=api.auth("agent"))).json()
    rebuilt = await api.client.post("/v1/ops/projections/rebuild", headers=api.auth("ops"))
    assert rebuilt.json() == {"orders": 1}
    assert (
        await api.client.get(f"/v1/orders/{oid}/timeline", headers=api.auth("agent"))
    ).json() == before
    assert (
        await api.client.post("/v1/ops/projections/rebuild", headers=api.auth("agent"))
    ).status_code == 403


async def test_an_order_is_read_from_its_view_caught_up_with_the_channel_s_own_writes(
    api: Api,
) -> None:
    await stock(api, "MUG-1", "dc-east", 5)
    placed = (await place(api, order_body("W-view"), key="k-view")).json()
    engine = api.container.engine()

    read = await api.client.get(f"/v1/orders/{placed['id']}", headers=api.auth("web"))
    # No projection ran: the read projected the order's events first (read-your-writes).
    assert read.status_code == 200
    assert (read.json(), read.headers["ETag"]) == (placed, f'"{placed["version"]}"')
    async with engine.connect() as conn:
        version = (await conn.execute(select(order_views.c.version))).scalar_one()
    assert version == placed["version"]

    # What is served is the view: a view that says otherwise is what the caller reads.
    async with engine.begin() as conn:
        await conn.execute(
            update(order_views).values(
                document=func.json_set(order_views.c.document, "$.status", "told_by_the_view")
                if engine.dialect.name == "sqlite"
                else order_views.c.document.op("||")(
                    func.jsonb_build_object("status", "told_by_the_view")
                )
            )
        )
    again = await api.client.get(f"/v1/orders/{placed['id']}", headers=api.auth("web"))
    assert again.json()["status"] == "told_by_the_view"


async def test_a_new_return_is_read_from_its_order_s_view(api: Api) -> None:
    await requests.stock(api)
    order = await requests.place_order(api)
    await requests.ship(api, order, delivered=True)
    requested = await requests.request_return(api, order["id"], requests.return_body())
    assert requested.status_code == 201, requested.text

    read = await api.client.get(f"/v1/returns/{requested.json()['id']}", headers=api.auth("web"))
    # No projection ran: the return was found by its key, its order's view caught up.
    assert read.status_code == 200
    assert read.json() == requested.json()
    async with api.container.engine().connect() as conn:
        indexed = (await conn.execute(select(order_view_returns.c.order_id))).scalars().all()
    assert [str(i) for i in indexed] == [order["id"]]

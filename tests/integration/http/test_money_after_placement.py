"""Tax per line and appeasements (PRODUCT.md §8.6) through the API on PostgreSQL: a taxed order is
placed, shipped and captured at the simulated provider, partly returned with its tax, and an agent
refunds part of what is left without a return, once, whatever the retries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.message_codec import MsgspecCodec
from application.process_managers.fulfilment import Fulfilment
from domain import commands as c
from domain.returns import ReturnLineSpec
from ports.unit_of_work import CommandMeta
from tests.integration.http.conftest import Api, make_api
from tests.integration.http.requests import (
    SKU,
    assert_problem,
    get_order,
    idempotent,
    order_body,
    place_order,
    ship,
    stock,
)
from tests.integration.http.test_shopify_lifecycle_webhooks import ORDER, SECRET, deliver
from tests.unit.shopify.payloads import shopify_order

#: Two units at 10.00 with 2.00 tax each: 24.00.
TAXED = [{"sku": SKU, "quantity": 2, "unit_price": "10.00", "tax_amount": "2.00"}]


async def deliver_to_fulfilment(api: Api, *event_types: str) -> int:
    """Hand the outbox's events of `event_types` to the fulfilment process manager (as a worker
    would, on the container's simulated back office); answers how many it handled."""
    fulfilment, codec = Fulfilment(api.container.process_context()), MsgspecCodec()
    async with api.container.outbox_store().claim(500) as batch:
        messages = [m for m in batch.messages if m["event_type"] in event_types]
        await batch.mark_published(api.clock.now())
    for message in messages:
        await fulfilment.handle(codec.decode(message))
    return len(messages)


async def captured_taxed_order(api: Api) -> dict[str, Any]:
    await stock(api)
    order = await place_order(api, lines=TAXED, payment={"reference": "psp-9", "amount": "24.00"})
    await ship(api, order, delivered=True)
    assert await deliver_to_fulfilment(api, "ShipmentDispatched") == 1  # captured at the provider
    return order


async def appease(api: Api, order_id: str, key: str, who: str = "agent", **body: Any) -> Any:
    return await api.client.post(
        f"/v1/orders/{order_id}/refunds",
        json=body or {"amount": "5.00", "reason": "parcel arrived late"},
        headers=idempotent(api, who, key),
    )


async def test_a_taxed_order_totals_its_tax_and_shows_it_per_line(pg_api: Api) -> None:
    await stock(pg_api)
    order = await place_order(pg_api, lines=TAXED, payment={"reference": "p", "amount": "24.00"})

    assert order["total"] == "24.00"
    assert (order["lines"][0]["unit_price"], order["lines"][0]["tax_amount"]) == ("10.00", "2.00")
    assert (await get_order(pg_api, order["id"]))["lines"][0]["tax_amount"] == "2.00"


async def test_a_payment_that_leaves_out_the_tax_is_refused(pg_api: Api) -> None:
    await stock(pg_api)
    response = await pg_api.client.post(
        "/v1/orders",
        json=order_body(lines=TAXED, payment={"reference": "p", "amount": "20.00"}),
        headers=idempotent(pg_api),
    )

    problem = assert_problem(response, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == ["payment.amount"]


async def test_a_negative_or_too_precise_tax_is_refused_by_its_field(pg_api: Api) -> None:
    await stock(pg_api)
    for tax in ("-0.01", "0.001"):
        lines = [{**TAXED[0], "tax_amount": tax}]
        response = await pg_api.client.post(
            "/v1/orders",
            json=order_body(lines=lines, payment={"reference": "p", "amount": "100.00"}),
            headers=idempotent(pg_api),
        )

        problem = assert_problem(response, 422, "validation_error")
        assert [e["field"] for e in problem["errors"]] == ["lines[0].tax_amount"], tax


async def test_a_partial_return_refunds_its_units_with_their_tax(pg_api: Api) -> None:
    order = await captured_taxed_order(pg_api)
    bus, meta = pg_api.container.bus(), CommandMeta(actor="system:test", correlation_id="t")
    return_id = await bus.handle(
        c.RequestReturn(
            order_id=UUID(order["id"]),
            lines=(ReturnLineSpec(sku=SKU, quantity=1, reason="too small"),),
        ),
        meta,
    )
    await bus.handle(
        c.ReceiveReturn(return_id=return_id, lines=(c.SkuCount(sku=SKU, quantity=1),)), meta
    )

    answer = await pg_api.client.get(f"/v1/returns/{return_id}", headers=pg_api.auth("agent"))

    assert answer.json()["refund_amount"] == "12.00"


async def test_an_agent_appeasement_is_refunded_once_and_on_the_timeline(pg_api: Api) -> None:
    order = await captured_taxed_order(pg_api)

    first = await appease(pg_api, order["id"], key="goodwill-1")
    again = await appease(pg_api, order["id"], key="goodwill-1")
    assert await deliver_to_fulfilment(pg_api, "AppeasementIssued") == 1

    assert first.status_code == 201, first.text
    assert first.json()["payment"]["refunded"] == "5.00"
    assert first.json()["payment"]["status"] == "partially_refunded"
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    assert again.content == first.content
    refunds = pg_api.container.back_office().payments.refunds("psp-9")
    assert [charge.amount for charge in refunds] == [Decimal("5.00")]
    view = await get_order(pg_api, order["id"])
    assert view["payment"]["refunded"] == "5.00"
    assert await refund_entries(pg_api, order["id"]) == [
        ("agent", "Refund of 5.00 EUR issued without a return: parcel arrived late")
    ]


async def test_an_appeasement_above_captured_less_refunded_is_a_conflict(pg_api: Api) -> None:
    order = await captured_taxed_order(pg_api)
    assert (await appease(pg_api, order["id"], "a", amount="20.00", reason="x")).status_code == 201

    refused = await appease(pg_api, order["id"], "b", amount="4.01", reason="more")

    problem = assert_problem(refused, 409, "refund_exceeds_captured")
    assert problem["refundable"] == "4.00 EUR"
    assert (await get_order(pg_api, order["id"]))["payment"]["refunded"] == "20.00"


async def test_nothing_is_appeased_before_the_capture(pg_api: Api) -> None:
    await stock(pg_api)
    order = await place_order(pg_api)

    refused = await appease(pg_api, order["id"], "early")

    assert_problem(refused, 409, "refund_exceeds_captured")


async def test_an_appeasement_needs_its_idempotency_key_an_agent_and_a_valid_body(
    pg_api: Api,
) -> None:
    order = await captured_taxed_order(pg_api)
    path = f"/v1/orders/{order['id']}/refunds"
    body = {"amount": "1.00", "reason": "sorry"}

    no_key = await pg_api.client.post(path, json=body, headers=pg_api.auth("agent"))
    by_channel = await appease(pg_api, order["id"], "c", who="web")
    too_precise = await appease(pg_api, order["id"], "d", amount="1.001", reason="sorry")
    no_reason = await appease(pg_api, order["id"], "e", amount="1.00", reason=" ")
    reused = await appease(pg_api, order["id"], "f")
    reused_other = await appease(pg_api, order["id"], "f", amount="2.00", reason="other")

    assert_problem(no_key, 400, "idempotency_key_required")
    assert_problem(by_channel, 403, "forbidden")
    assert [e["field"] for e in assert_problem(too_precise, 422, "validation_error")["errors"]] == [
        "amount"
    ]
    assert [e["field"] for e in assert_problem(no_reason, 422, "validation_error")["errors"]] == [
        "reason"
    ]
    assert reused.status_code == 201
    assert_problem(reused_other, 422, "idempotency_key_reused")
    assert (await get_order(pg_api, order["id"]))["payment"]["refunded"] == "5.00"


async def refund_entries(api: Api, order_id: str) -> list[tuple[str, str]]:
    page: httpx.Response = await api.client.get(
        f"/v1/orders/{order_id}/timeline", headers=api.auth("agent")
    )
    return [(e["source"], e["title"]) for e in page.json()["items"] if e["kind"] == "refund.issued"]


@pytest.fixture
async def shop_api(postgres_engine: AsyncEngine) -> Any:
    async for built in make_api(postgres_engine, shopify_webhook_secret=SECRET):
        yield built


async def test_a_tax_included_shopify_order_is_placed_with_its_tax_split_out(
    shop_api: Api,
) -> None:
    """The documented payload in a shop whose prices include tax: the lines' `tax_lines` are
    taken out of the prices, and the order costs what the customer paid."""
    for sku in ("IPOD2008PINK", "CBL-USBC-1M"):
        await stock(shop_api, sku, 10)
    payload = {**shopify_order(), "taxes_included": True, "total_price": "426.97"}

    response = await deliver(shop_api.client, ORDER, payload, "create-taxed")

    assert response.status_code == 200, response.text
    order = await get_order(shop_api, response.json()["order_id"])
    assert order["total"] == "426.97"  # 2 × 189.00 + 3 × 12.99 + 10.00, tax inside
    assert [(ln["sku"], ln["unit_price"], ln["tax_amount"]) for ln in order["lines"]] == [
        ("IPOD2008PINK", "177.66", "11.34"),
        ("CBL-USBC-1M", "12.21", "0.78"),
    ]

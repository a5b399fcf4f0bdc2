"""Exchanges (PRODUCT.md §8.6) through the API on PostgreSQL: a return request with replacement
lines and a payment for the difference; at receipt the replacement is placed once, the difference
is captured once at the simulated provider, and both orders show each other."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from adapters.message_codec import MsgspecCodec
from application.process_managers.returns import Returns
from domain import commands as c
from ports.unit_of_work import CommandMeta
from tests.integration.http.conftest import Api
from tests.integration.http.requests import SKU, assert_problem, get_order, request_return, stock
from tests.integration.http.test_money_after_placement import captured_taxed_order

#: One jug at 25.00 + 5.00 tax: 6.00 more than the two returned mugs' 24.00.
JUG = {"sku": "JUG-1", "quantity": 1, "unit_price": "25.00", "tax_amount": "5.00"}


def exchange_body(**extra: Any) -> dict[str, Any]:
    return {
        "lines": [{"sku": SKU, "quantity": 2, "reason": "wrong colour"}],
        "exchange_lines": [JUG],
        **extra,
    }


async def deliver_to_returns(api: Api, event_type: str) -> list[dict[str, Any]]:
    """Hand the outbox's events of `event_type` to the returns process manager, as a worker
    would; answers the messages handed over (to hand them over again)."""
    returns, codec = Returns(api.container.process_context()), MsgspecCodec()
    async with api.container.outbox_store().claim(500) as batch:
        messages = [m for m in batch.messages if m["event_type"] == event_type]
        await batch.mark_published(api.clock.now())
    for message in messages:
        await returns.handle(codec.decode(message))
    return messages


async def kinds(api: Api, order_id: str) -> list[str]:
    answer = await api.client.get(f"/v1/orders/{order_id}/timeline", headers=api.auth("agent"))
    return [item["kind"] for item in answer.json()["items"]]


async def test_an_exchange_for_a_dearer_item_places_its_replacement_once(pg_api: Api) -> None:
    order = await captured_taxed_order(pg_api)  # 2 × 10.00 + 2.00 tax, captured under psp-9
    await stock(pg_api, sku="JUG-1", on_hand=3)

    unpaid = await request_return(pg_api, order["id"], exchange_body())
    problem = assert_problem(unpaid, 422, "exchange_payment_required")
    assert problem["difference"] == "6.00 EUR"
    assert [e["field"] for e in problem["errors"]] == ["payment"]

    paid = await request_return(
        pg_api, order["id"], exchange_body(payment={"reference": "psp-diff", "amount": "6.00"})
    )
    assert paid.status_code == 201, paid.text
    return_id = paid.json()["id"]
    assert paid.json()["exchange"]["lines"] == [JUG]
    meta = CommandMeta(actor="system:test", correlation_id="t")
    await pg_api.container.bus().handle(
        c.ReceiveReturn(return_id=UUID(return_id), lines=(c.SkuCount(sku=SKU, quantity=2),)),
        meta,
    )

    due = await deliver_to_returns(pg_api, "ReplacementDue")
    assert len(due) == 1
    codec, returns = MsgspecCodec(), Returns(pg_api.container.process_context())
    await returns.handle(codec.decode(due[0]))  # redelivered

    ret = (await pg_api.client.get(f"/v1/returns/{return_id}", headers=pg_api.auth("agent"))).json()
    exchange = ret["exchange"]
    assert (exchange["outcome"], exchange["credit"], exchange["payment_due"]) == (
        "replaced",
        "24.00",
        "6.00",
    )
    replacement = await get_order(pg_api, exchange["replacement_order_id"])
    assert replacement["replacement_for_return_id"] == return_id
    assert (replacement["status"], replacement["total"]) == ("reserved", "30.00")
    assert (replacement["payment"]["status"], replacement["payment"]["captured"]) == (
        "captured",
        "30.00",
    )
    assert (replacement["customer"], replacement["shipping_address"]) == (
        order["customer"],
        order["shipping_address"],
    )
    same_ref = await pg_api.client.get(
        "/v1/orders",
        params={"channel_order_ref": f"exchange:{return_id}"},
        headers=pg_api.auth("agent"),
    )
    assert len(same_ref.json()["items"]) == 1
    payments = pg_api.container.back_office().payments
    assert [charge.amount for charge in payments.captures("psp-diff")] == [6]
    assert "exchange.replacement_placed" in await kinds(pg_api, order["id"])
    assert "exchange.replacement_for" in await kinds(pg_api, replacement["id"])


async def test_a_payment_on_a_plain_return_is_refused_by_its_field(pg_api: Api) -> None:
    order = await captured_taxed_order(pg_api)
    body = {
        "lines": [{"sku": SKU, "quantity": 1, "reason": "too small"}],
        "payment": {"reference": "psp-diff", "amount": "1.00"},
    }

    refused = await request_return(pg_api, order["id"], body)

    problem = assert_problem(refused, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == ["payment"]

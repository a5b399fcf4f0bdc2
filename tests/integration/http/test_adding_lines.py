"""Order edits that add lines (PRODUCT.md §8.6) through the API on PostgreSQL: `POST
/v1/orders/{id}/amend {add_lines, payment}` adds taxed lines before booking, reserved, under the new
authorization; the replaced one is voided at the simulated provider, once; the ERP books the order
with its new lines, or takes them as an amendment once booked, and its refusal leaves the order as
it was, on hold; a bad body is refused by its fields and changes nothing."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

from adapters.memory.remote import InMemoryErp
from adapters.message_codec import MsgspecCodec
from application.process_managers.fulfilment import Fulfilment
from tests.integration.http.conftest import Api
from tests.integration.http.requests import (
    LOCATION,
    assert_problem,
    get_order,
    inventory,
    place_order,
    ship,
    stock,
)
from tests.integration.http.test_money_after_placement import deliver_to_fulfilment

BOWL = "BOWL-WHITE"
#: Two bowls at 8.00 with 1.60 tax each: 19.20 on top of the order's 2 × 19.99 = 39.98.
ADDED = [{"sku": BOWL, "quantity": 2, "unit_price": "8.00", "tax_amount": "1.60"}]


async def amend(api: Api, order_id: str, body: dict[str, Any], who: str = "web") -> Any:
    return await api.client.post(f"/v1/orders/{order_id}/amend", json=body, headers=api.auth(who))


async def reserved_order(api: Api) -> dict[str, Any]:
    await stock(api)
    await stock(api, sku=BOWL, on_hand=5)
    return await place_order(api, payment={"reference": "psp-old", "amount": "39.98"})


async def test_lines_added_before_booking_are_reserved_under_the_new_payment(pg_api: Api) -> None:
    order = await reserved_order(pg_api)

    answer = await amend(
        pg_api,
        order["id"],
        {"add_lines": ADDED, "payment": {"reference": "psp-new", "amount": "59.18"}},
    )

    assert answer.status_code == 200, answer.text
    edited = answer.json()
    assert (edited["status"], edited["total"]) == ("reserved", "59.18")
    assert [
        (ln["sku"], ln["quantity"], ln["tax_amount"], ln["reserved"]) for ln in edited["lines"]
    ] == [
        (order["lines"][0]["sku"], 2, "0.00", 2),
        (BOWL, 2, "1.60", 2),
    ]
    assert (edited["payment"]["reference"], edited["payment"]["authorized"]) == ("psp-new", "59.18")
    assert await get_order(pg_api, order["id"]) == edited
    assert (await inventory(pg_api, BOWL))["locations"] == [
        {"location": LOCATION, "on_hand": 5, "reserved": 2, "available": 3}
    ]
    timeline = await pg_api.client.get(
        f"/v1/orders/{order['id']}/timeline", headers=pg_api.auth("agent")
    )
    kinds = [(e["source"], e["kind"], e["title"]) for e in timeline.json()["items"]]
    assert (
        "channel",
        "order.lines_added",
        "Lines added: 2 × BOWL-WHITE; total now 59.18, authorized 59.18 under psp-new"
        " (replacing psp-old)",
    ) in kinds


async def test_the_replaced_authorization_is_voided_once_and_the_erp_books_the_new_lines(
    pg_api: Api,
) -> None:
    order = await reserved_order(pg_api)
    body = {"add_lines": ADDED, "payment": {"reference": "psp-new", "amount": "59.18"}}
    assert (await amend(pg_api, order["id"], body)).status_code == 200

    assert await deliver_to_fulfilment(pg_api, "LinesAdded", "InventoryReserved") == 3

    payments = pg_api.container.back_office().payments
    assert (payments.voided("psp-old"), payments.voided("psp-new")) == (True, False)
    assert payments.stats.voids == 1
    booked = await get_order(pg_api, order["id"])
    assert booked["status"] == "booked"
    erp = pg_api.container.back_office().erp
    document = erp.order(UUID(order["id"]))
    assert [(ln.sku, ln.quantity) for ln in document.lines] == [
        (order["lines"][0]["sku"], 2),
        (BOWL, 2),
    ]


async def test_add_lines_without_a_covering_payment_is_refused_by_its_fields(pg_api: Api) -> None:
    order = await reserved_order(pg_api)

    no_payment = await amend(pg_api, order["id"], {"add_lines": ADDED})
    payment_only = await amend(pg_api, order["id"], {"payment": {"reference": "p", "amount": "1"}})
    too_little = await amend(
        pg_api, order["id"], {"add_lines": ADDED, "payment": {"reference": "p", "amount": "59.17"}}
    )
    mixed = await amend(
        pg_api,
        order["id"],
        {
            "add_lines": ADDED,
            "payment": {"reference": "p", "amount": "59.18"},
            "lines": [{"sku": order["lines"][0]["sku"], "quantity": 1}],
        },
    )
    again = await amend(
        pg_api,
        order["id"],
        {
            "add_lines": [{**ADDED[0], "sku": order["lines"][0]["sku"]}],
            "payment": {"reference": "p", "amount": "100.00"},
        },
    )

    def fields(response: Any) -> list[str]:
        return [e["field"] for e in assert_problem(response, 422, "validation_error")["errors"]]

    assert fields(no_payment) == ["payment"]
    assert fields(payment_only) == ["add_lines"]
    assert fields(too_little) == ["payment.amount"]
    assert fields(mixed) == ["lines"]
    assert fields(again) == ["add_lines[0].sku"]
    unchanged = await get_order(pg_api, order["id"])
    assert (unchanged["version"], unchanged["total"]) == (order["version"], "39.98")


async def booked_order(api: Api) -> dict[str, Any]:
    order = await reserved_order(api)
    assert await deliver_to_fulfilment(api, "InventoryReserved") == 1
    assert (await get_order(api, order["id"]))["status"] == "booked"
    return order


async def test_a_booked_order_takes_new_lines_sent_to_the_erp_as_an_amendment(
    pg_api: Api,
) -> None:
    order = await booked_order(pg_api)
    body = {"add_lines": ADDED, "payment": {"reference": "psp-new", "amount": "59.18"}}

    answer = await amend(pg_api, order["id"], body)
    assert await deliver_to_fulfilment(pg_api, "LinesAdded") == 1

    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["total"]) == ("booked", "59.18")
    erp = pg_api.container.back_office().erp
    (amendment,) = erp.amendments()
    assert [(ln.sku, ln.quantity) for ln in amendment.order.lines] == [
        (order["lines"][0]["sku"], 2),
        (BOWL, 2),
    ]
    assert pg_api.container.back_office().payments.voided("psp-old")


async def test_the_erp_refusing_added_lines_leaves_the_order_as_it_was_on_hold(
    pg_api: Api,
) -> None:
    """The ERP's refusal is played by the in-memory ERP (the simulated one booked the order);
    the refusal's HTTP form is in the port contract tests."""
    order = await booked_order(pg_api)
    before = await get_order(pg_api, order["id"])
    body = {"add_lines": ADDED, "payment": {"reference": "psp-new", "amount": "59.18"}}
    assert (await amend(pg_api, order["id"], body)).status_code == 200
    refusing = replace(pg_api.container.process_context(), erp=InMemoryErp(rejected_skus={BOWL}))
    fulfilment, codec = Fulfilment(refusing), MsgspecCodec()
    async with pg_api.container.outbox_store().claim(500) as batch:
        messages = [m for m in batch.messages if m["event_type"] == "LinesAdded"]
        await batch.mark_published(pg_api.clock.now())
    for message in messages:
        await fulfilment.handle(codec.decode(message))
    assert await deliver_to_fulfilment(pg_api, "AddedLinesRefused") == 1

    after = await get_order(pg_api, order["id"])
    assert after["status"] == "on_hold"
    assert {k: v for k, v in after.items() if k not in ("status", "version", "updated_at")} == {
        k: v for k, v in before.items() if k not in ("status", "version", "updated_at")
    }
    assert (await inventory(pg_api, BOWL))["locations"][0]["reserved"] == 0
    payments = pg_api.container.back_office().payments
    assert (payments.voided("psp-new"), payments.voided("psp-old")) == (True, False)
    timeline = await pg_api.client.get(
        f"/v1/orders/{order['id']}/timeline", headers=pg_api.auth("agent")
    )
    refused = [e for e in timeline.json()["items"] if e["kind"] == "order.lines_refused"]
    assert [(e["source"], e["detail"]["reason"]) for e in refused] == [
        ("erp", "unknown items BOWL-WHITE")
    ]


async def test_a_shipped_order_takes_no_new_lines(pg_api: Api) -> None:
    order = await reserved_order(pg_api)
    await ship(pg_api, order, delivered=False)
    body = {"add_lines": ADDED, "payment": {"reference": "psp-new", "amount": "59.18"}}

    refused = await amend(pg_api, order["id"], body)

    assert_problem(refused, 409, "invalid_transition")
    assert len((await get_order(pg_api, order["id"]))["lines"]) == 1

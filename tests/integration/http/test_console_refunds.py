"""An agent refunds without a return from the order page (PRODUCT.md §8.6): offered while some
capture is left, done once per form, refused above what is left with the form kept."""

from __future__ import annotations

from uuid import UUID

from domain import commands as c
from ports.unit_of_work import CommandMeta
from tests.integration.http.conftest import Api
from tests.integration.http.requests import get_order
from tests.integration.http.test_console_actions import (
    delivered,
    page,
    post,
    send,
    signed_in,
    timeline_kinds,
)


async def captured(api: Api) -> str:
    """A delivered order of two units at 19.99, captured: 39.98 refundable."""
    order_id = await delivered(await signed_in(api))
    meta = CommandMeta(actor="payment:test", correlation_id="capture")
    await api.container.bus().handle(c.CapturePayment(order_id=UUID(order_id)), meta)
    return order_id


async def test_the_refund_form_is_offered_once_something_was_captured(api: Api) -> None:
    order_id = await delivered(await signed_in(api))
    assert "refund" not in (await page(api, order_id)).acts

    await api.container.bus().handle(
        c.CapturePayment(order_id=UUID(order_id)), CommandMeta(actor="t", correlation_id="t")
    )

    assert "refund" in (await page(api, order_id)).acts


async def test_an_agent_refunds_without_a_return_once_per_form(api: Api) -> None:
    order_id = await captured(api)
    form = (await page(api, order_id)).form("refund").filled(amount="5.00", reason="late parcel")

    first = await post(api, order_id, "refund", form)
    second = await post(api, order_id, "refund", form)  # a double click, or a reload

    expected = {"status": "The refund is issued; the payment provider pays it out shortly."}
    assert first.said == second.said == expected
    payment = (await get_order(api, order_id))["payment"]
    assert (payment["refunded"], payment["status"]) == ("5.00", "partially_refunded")
    assert (await timeline_kinds(api, order_id)).count("refund.issued") == 1


async def test_a_refund_above_what_is_left_is_refused_with_the_form_kept(api: Api) -> None:
    order_id = await captured(api)

    refused = await send(api, order_id, "refund", amount="39.99", reason="everything and more")
    not_money = await send(api, order_id, "refund", amount="lots", reason="sorry")

    assert refused.status_code == 409
    assert refused.said == {
        "alert": "Not done: cannot refund 39.99 EUR: only 39.98 EUR is refundable."
    }
    assert refused.form("refund").fields["amount"] == "39.99"
    assert not_money.status_code == 422
    assert not_money.said["alert"].startswith("Not done: amount")
    assert (await get_order(api, order_id))["payment"]["refunded"] == "0.00"

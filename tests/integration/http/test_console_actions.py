"""An agent acts from the order page (PRODUCT.md §8.4): every act a form with the session's token,
run as the API's command under the agent's key; the page offers only what the order's state
allows, says what was done, and shows a refusal as a sentence with the form's values kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from dependency_injector import providers
from sqlalchemy.ext.asyncio import AsyncEngine

from application.bus import MessageBus
from domain import commands as c
from domain.return_policy import ReturnPolicy
from domain.returns import Disposition
from entrypoints.container import Container
from entrypoints.http.commands import CommandRunner
from ports.unit_of_work import CommandMeta, ConcurrencyConflict, DatabaseUnavailable
from tests.integration.http.conftest import Api, make_api
from tests.integration.http.console_page import Page
from tests.integration.http.requests import SKU, get_order, place_order, ship, stock
from tests.integration.http.test_cancel_remaining import partly_shipped

BEFORE_SHIPPING = {"hold", "cancel", "amend-address", "case", "notes"}


@pytest.fixture
async def deciding(sqlite_engine: AsyncEngine) -> AsyncIterator[Api]:
    """The web channel's returns wait for an agent."""
    policies = {"web": ReturnPolicy(auto_authorize=False)}
    async for api in make_api(sqlite_engine, channel_policies=policies):
        yield api


async def signed_in(api: Api, who: str = "agent") -> Api:
    response = await api.client.post("/console/login", data={"key": api.keys[who]})
    assert response.status_code == 303, response.text
    return api


async def page(api: Api, order_id: str, **params: str) -> Page:
    response = await api.client.get(f"/console/orders/{order_id}", params=params)
    assert response.status_code == 200, response.text
    return Page.of(response)


async def send(api: Api, order_id: str, act: str, **values: str) -> Page:
    """Fill in the act's form on the order page as it stands, send it, follow where it leads."""
    form = (await page(api, order_id)).form(act).filled(**values)
    return await post(api, order_id, act, form)


async def post(api: Api, order_id: str, act: str, form: dict[str, str]) -> Page:
    sent = await api.client.post(f"/console/orders/{order_id}/{act}", data=form)
    if sent.status_code == 303:
        location = sent.headers["location"]
        assert location.startswith(f"/console/orders/{order_id}?done="), location
        return Page.of(await api.client.get(location))
    return Page.of(sent)


async def timeline_kinds(api: Api, order_id: str) -> list[str]:
    answer = await api.client.get(f"/v1/orders/{order_id}/timeline", headers=api.auth("agent"))
    return [e["kind"] for e in answer.json()["items"]]


async def reserved_order(api: Api) -> str:
    await stock(api)
    return str((await place_order(api))["id"])


async def test_an_agent_holds_and_resumes_an_order_from_its_page(api: Api) -> None:
    order_id = await reserved_order(await signed_in(api))
    assert (await page(api, order_id)).acts == BEFORE_SHIPPING

    held = await send(api, order_id, "hold", reason="customer asked to wait for payday")

    assert held.said == {"status": "The order is on hold."}
    assert "On hold: customer asked to wait for payday" in held.html
    assert held.acts == {"resume", "cancel", "amend-address", "case", "notes"}
    assert (await get_order(api, order_id))["status"] == "on_hold"

    resumed = await send(api, order_id, "resume")

    assert resumed.said == {"status": "The order is off hold."}
    assert (await get_order(api, order_id))["status"] == "reserved"
    assert "order.resumed" in await timeline_kinds(api, order_id)


async def test_the_page_offers_only_what_the_order_s_state_allows(api: Api) -> None:
    await signed_in(api)
    order_id = await reserved_order(api)
    await ship(api, await get_order(api, order_id), delivered=True)
    assert (await page(api, order_id)).acts == {"request-return", "case", "notes"}

    partly = await partly_shipped(api)
    assert (await page(api, partly["id"])).acts == {
        "cancel-remaining",
        "request-return",
        "case",
        "notes",
    }


async def test_a_refusal_is_a_sentence_on_the_page_with_what_was_typed_kept(api: Api) -> None:
    order_id = await reserved_order(await signed_in(api))
    stale = (await page(api, order_id)).form("hold")
    await send(api, order_id, "hold", reason="first")

    again = await post(api, order_id, "hold", stale.filled(reason="second"))

    assert again.status_code == 409
    assert again.said == {"alert": "Not done: cannot hold an order that is on_hold."}
    assert "problem" not in again.html
    assert "Traceback" not in again.html


async def test_a_form_that_breaks_the_api_s_limits_is_refused_readably(api: Api) -> None:
    order_id = await reserved_order(await signed_in(api))

    long_note = await send(api, order_id, "notes", text="x" * 2001)
    empty_reason = await send(api, order_id, "hold", reason="   ")

    assert long_note.status_code == 422
    assert long_note.said["alert"].startswith("Not done: text: Expected `str` of length <= 2000")
    assert long_note.form("notes").fields["text"] == "x" * 2001  # nothing typed is lost
    assert empty_reason.status_code == 422
    assert empty_reason.said["alert"].startswith("Not done: reason")
    assert (await get_order(api, order_id))["status"] == "reserved"


async def test_a_form_sent_twice_is_done_once(api: Api) -> None:
    order_id = await reserved_order(await signed_in(api))
    form = (await page(api, order_id)).form("notes").filled(text="called the customer back")

    first = await post(api, order_id, "notes", form)
    second = await post(api, order_id, "notes", form)  # a double click, or a reload

    assert first.said == second.said == {"status": "The note is on the timeline."}
    assert (await timeline_kinds(api, order_id)).count("note.added") == 1


async def test_a_note_shows_on_the_timeline_as_the_agent_s_and_is_escaped(api: Api) -> None:
    order_id = await reserved_order(await signed_in(api))

    noted = await send(api, order_id, "notes", text="<script>alert(1)</script> said hello")

    assert "Note: &lt;script&gt;alert(1)&lt;/script&gt; said hello" in noted.html
    assert "<script>" not in noted.html
    assert 'data-kind="note.added"' in noted.html


async def test_an_agent_changes_the_address_unless_the_page_is_stale(api: Api) -> None:
    order_id = await reserved_order(await signed_in(api))
    stale = (await page(api, order_id)).form("amend-address")

    moved = await send(api, order_id, "amend-address", city="Lyon", postal_code="69001")

    assert moved.said == {"status": "The shipping address is changed."}
    address = (await get_order(api, order_id))["shipping_address"]
    assert (address["city"], address["postal_code"]) == ("Lyon", "69001")
    refused = await post(api, order_id, "amend-address", stale.filled(city="Nice"))
    assert refused.status_code == 412
    assert (await get_order(api, order_id))["shipping_address"]["city"] == "Lyon"


async def test_an_agent_cancels_an_order(api: Api) -> None:
    order_id = await reserved_order(await signed_in(api))

    cancelled = await send(api, order_id, "cancel", reason="customer changed their mind")

    assert cancelled.said == {"status": "The order is cancelled; its stock is back on sale."}
    assert cancelled.acts == {"case", "notes"}


async def test_an_agent_cancels_what_has_not_shipped(api: Api) -> None:
    await signed_in(api)
    order = await partly_shipped(api)

    finished = await send(api, order["id"], "cancel-remaining", reason="discontinued")

    assert finished.said["status"].startswith("What had not shipped is cancelled")
    assert (await get_order(api, order["id"]))["status"] == "shipped"


async def test_an_agent_links_a_case(api: Api) -> None:
    order_id = await reserved_order(await signed_in(api))

    linked = await send(api, order_id, "case", case_id="500000000000042")

    assert linked.said == {"status": "The case is linked."}
    assert (await get_order(api, order_id))["case_ids"] == ["500000000000042"]


async def delivered(api: Api) -> str:
    order_id = await reserved_order(api)
    await ship(api, await get_order(api, order_id), delivered=True)
    return order_id


async def test_an_agent_requests_a_return_and_authorizes_it(deciding: Api) -> None:
    api = await signed_in(deciding)
    order_id = await delivered(api)
    form = (await page(api, order_id)).form("request-return")
    assert (form.fields["sku_0"], form.fields["quantity_0"]) == (SKU, "0")

    requested = await post(api, order_id, "request-return", form.filled(quantity_0="1", reason_0="too small"))  # fmt: skip

    assert requested.said == {"status": "The return is requested."}
    (ret,) = (await get_order(api, order_id))["returns"]
    assert ret["status"] == "requested"
    assert f"returns/{ret['id']}/authorize" in requested.acts
    authorized = await send(api, order_id, f"returns/{ret['id']}/authorize")
    assert authorized.said == {"status": "The return is authorized."}
    assert (await get_order(api, order_id))["returns"][0]["status"] == "authorized"


async def test_a_return_of_nothing_is_refused(api: Api) -> None:
    order_id = await delivered(await signed_in(api))

    nothing = await send(api, order_id, "request-return")

    assert nothing.status_code == 422
    assert nothing.said == {"alert": "Not done: say how many units of which item come back."}


async def test_an_agent_refuses_a_return_with_the_reason_the_customer_hears(deciding: Api) -> None:
    api = await signed_in(deciding)
    order_id = await delivered(api)
    await send(api, order_id, "request-return", quantity_0="1", reason_0="changed my mind")
    (ret,) = (await get_order(api, order_id))["returns"]

    refused = await send(api, order_id, f"returns/{ret['id']}/reject", reason="worn")

    assert refused.said == {"status": "The return is refused."}
    assert (await get_order(api, order_id))["returns"][0]["status"] == "rejected"
    assert "request-return" in refused.acts  # its unit may be returned again


async def test_an_agent_accepts_a_credit_memo_that_did_not_match(api: Api) -> None:
    order_id = await delivered(await signed_in(api))
    await send(api, order_id, "request-return", quantity_0="1", reason_0="too small")
    return_id = UUID((await get_order(api, order_id))["returns"][0]["id"])
    bus, meta = api.container.bus(), CommandMeta(actor="erp:test", correlation_id="memo")
    await bus.handle(c.CapturePayment(order_id=UUID(order_id)), meta)
    await bus.handle(c.ReceiveReturn(return_id=return_id, lines=(c.SkuCount(sku=SKU, quantity=1),)), meta)  # fmt: skip
    restock = c.InspectedSku(sku=SKU, disposition=Disposition.RESTOCK)
    await bus.handle(c.InspectReturn(return_id=return_id, lines=(restock,)), meta)
    memo = c.PostCreditMemo(return_id=return_id, credit_memo_ref="CM-7", amount=Decimal("1.50"))
    await bus.handle(memo, meta)

    accepted = await send(api, order_id, f"returns/{return_id}/accept-credit-memo")

    assert accepted.said == {"status": "The ERP's credit memo is accepted and refunded."}
    answer = await api.client.get(f"/v1/returns/{return_id}", headers=api.auth("agent"))
    ret: dict[str, Any] = answer.json()
    assert (ret["status"], ret["refund_amount"]) == ("refunded", "1.50")


async def test_a_return_of_another_order_is_not_found(api: Api) -> None:
    await signed_in(api)
    order_id = await delivered(api)
    await send(api, order_id, "request-return", quantity_0="1", reason_0="too small")
    return_id = (await get_order(api, order_id))["returns"][0]["id"]
    other = await reserved_order(api)
    form = (await page(api, other)).form("hold").fields

    wrong = await post(api, other, f"returns/{return_id}/reject", {**form, "reason": "x"})

    assert wrong.status_code == 404
    assert (await get_order(api, order_id))["returns"][0]["status"] != "rejected"


async def test_an_unknown_act_is_not_found(api: Api) -> None:
    order_id = await reserved_order(await signed_in(api))
    form = (await page(api, order_id)).form("hold").fields

    unknown = await post(api, order_id, "ship", form)

    assert unknown.status_code == 404


async def test_a_missing_or_forged_form_token_is_refused_and_nothing_changes(api: Api) -> None:
    order_id = await reserved_order(await signed_in(api))
    form = (await page(api, order_id)).form("hold").filled(reason="forged")

    for token in (None, "forged", form["csrf"][:-1] + "x"):
        sent = {k: v for k, v in form.items() if k != "csrf"}
        if token is not None:
            sent["csrf"] = token
        refused = await post(api, order_id, "hold", sent)
        assert refused.status_code == 403
        assert "the form has expired" in refused.said["alert"]
    assert (await get_order(api, order_id))["status"] == "reserved"


async def test_a_form_from_another_site_is_refused(api: Api) -> None:
    order_id = await reserved_order(await signed_in(api))
    form = (await page(api, order_id)).form("hold").filled(reason="forged")

    forged = await api.client.post(
        f"/console/orders/{order_id}/hold", data=form, headers={"Origin": "https://evil.example"}
    )

    assert forged.status_code == 403
    assert (await get_order(api, order_id))["status"] == "reserved"


async def test_an_ops_session_looks_but_does_not_act(api: Api) -> None:
    order_id = await reserved_order(await signed_in(api, "ops"))
    looked = await page(api, order_id)
    assert looked.acts == set()
    token = next(f for f in looked.forms if f.action == "/console/logout").fields["csrf"]

    refused = await post(api, order_id, "hold", {"csrf": token, "reason": "ops"})

    assert refused.status_code == 403
    assert "sign in with an agent key" in refused.said["alert"]
    assert (await get_order(api, order_id))["status"] == "reserved"


async def test_not_signed_in_an_act_goes_to_the_sign_in_page(api: Api) -> None:
    order_id = await reserved_order(api)

    sent = await api.client.post(f"/console/orders/{order_id}/hold", data={"reason": "x"})

    assert (sent.status_code, sent.headers["location"]) == (303, "/console")
    assert (await get_order(api, order_id))["status"] == "reserved"


class BreakableBus:
    """The hub's bus, until a failure is set: then every command raises it (the database away,
    a change racing the act, a bug)."""

    def __init__(self, bus: MessageBus) -> None:
        self._bus = bus
        self.failure: Exception | None = None

    async def handle(self, *args: Any, **kwargs: Any) -> Any:
        if self.failure is not None:
            raise self.failure
        return await self._bus.handle(*args, **kwargs)


@pytest.fixture
async def breakable(sqlite_engine: AsyncEngine) -> AsyncIterator[tuple[Api, BreakableBus]]:
    """The app whose command runner runs commands through a `BreakableBus`."""
    buses: list[BreakableBus] = []

    def prepare(container: Container) -> None:
        buses.append(BreakableBus(container.bus()))
        runner = CommandRunner(buses[0], container.idempotency_gate(), container.clock())  # type: ignore[arg-type]
        container.command_runner.override(providers.Object(runner))

    async for api in make_api(sqlite_engine, prepare):
        yield api, buses[0]


@pytest.mark.parametrize(
    ("failure", "status", "said"),
    [
        (DatabaseUnavailable("connection refused"), 503, "The database is not reachable right now"),
        (ConcurrencyConflict("order changed underneath"), 503, "Too many changes to this order"),
        (RuntimeError("a bug"), 500, "The console could not do this"),
    ],
)
async def test_a_failure_behind_an_act_is_a_sentence_on_a_console_page(
    breakable: tuple[Api, BreakableBus], failure: Exception, status: int, said: str
) -> None:
    api, bus = breakable
    order_id = await reserved_order(await signed_in(api))
    form = (await page(api, order_id)).form("hold").filled(reason="wait")

    bus.failure = failure
    answer = await post(api, order_id, "hold", form)

    assert answer.status_code == status
    assert answer.said["alert"].startswith(said)
    assert "problem" not in answer.html
    assert str(failure) not in answer.html

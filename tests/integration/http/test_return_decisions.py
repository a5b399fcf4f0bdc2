"""An agent decides a return the channel's policy left `requested` (PRODUCT.md §8.4): authorize
it under the hub's RMA number, or reject it with a reason (the domain also lets an agent reject
an authorized return the warehouse has not received); a rejected return stays rejected. And an
agent accepts the ERP's amount for a return held for a credit memo that did not match."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import commands as c
from domain.return_policy import ReturnPolicy
from domain.returns import Disposition
from ports.unit_of_work import CommandMeta
from tests.integration.http.conftest import Api, make_api
from tests.integration.http.requests import (
    SKU,
    assert_problem,
    get_order,
    idempotent,
    place_order,
    request_return,
    return_body,
    ship,
    stock,
)


@pytest.fixture
async def deciding(sqlite_engine: AsyncEngine) -> AsyncIterator[Api]:
    """The web channel's returns wait for an agent."""
    policies = {"web": ReturnPolicy(auto_authorize=False)}
    async for api in make_api(sqlite_engine, channel_policies=policies):
        yield api


async def requested_return(api: Api) -> str:
    await stock(api)
    order = await place_order(api)
    await ship(api, order, delivered=True)
    asked = await request_return(api, order["id"], return_body(quantity=1))
    assert asked.status_code == 201, asked.text
    assert asked.json()["status"] == "requested"
    return str(asked.json()["id"])


async def decide(api: Api, return_id: str, decision: str, who: str = "agent", **body: Any) -> Any:
    return await api.client.post(
        f"/v1/returns/{return_id}/{decision}", json=body, headers=idempotent(api, who)
    )


async def test_an_agent_authorizes_a_requested_return_under_the_hub_s_rma_number(
    deciding: Api,
) -> None:
    return_id = await requested_return(deciding)

    answer = await decide(deciding, return_id, "authorize")

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "authorized"
    assert answer.json()["rma_number"]


async def test_an_agent_rejects_a_requested_return_and_its_units_are_returnable_again(
    deciding: Api,
) -> None:
    return_id = await requested_return(deciding)

    answer = await decide(deciding, return_id, "reject", reason="worn, outside the policy")

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "rejected"
    order_id = (
        await deciding.client.get(f"/v1/returns/{return_id}", headers=deciding.auth("agent"))
    ).json()["order_id"]
    again = await request_return(deciding, order_id, return_body(quantity=2))
    assert again.status_code == 201, again.text


async def test_a_rejected_return_is_not_authorized_afterwards(deciding: Api) -> None:
    return_id = await requested_return(deciding)
    assert (await decide(deciding, return_id, "reject", reason="worn")).status_code == 200

    refused = await decide(deciding, return_id, "authorize")

    assert_problem(refused, 409, "invalid_transition")


async def test_an_authorized_return_is_not_authorized_twice(deciding: Api) -> None:
    return_id = await requested_return(deciding)
    assert (await decide(deciding, return_id, "authorize")).status_code == 200

    refused = await decide(deciding, return_id, "authorize")

    assert_problem(refused, 409, "invalid_transition")


async def test_a_rejection_needs_a_reason(deciding: Api) -> None:
    return_id = await requested_return(deciding)

    refused = await decide(deciding, return_id, "reject")

    assert refused.status_code in (400, 422)
    assert refused.headers["content-type"].startswith("application/problem+json")
    order = await get_order(
        deciding,
        (
            await deciding.client.get(f"/v1/returns/{return_id}", headers=deciding.auth("agent"))
        ).json()["order_id"],
    )
    assert order["returns"][0]["status"] == "requested"


async def test_a_channel_may_not_decide_its_own_return(deciding: Api) -> None:
    return_id = await requested_return(deciding)

    refused = await decide(deciding, return_id, "authorize", who="web")

    assert_problem(refused, 403, "forbidden")


async def test_an_agent_accepts_the_erp_s_amount_for_a_return_held_for_its_credit_memo(
    api: Api,
) -> None:
    await stock(api)
    order = await place_order(api)
    await ship(api, order, delivered=True)
    asked = await request_return(api, order["id"], return_body(quantity=1))
    return_id = UUID(asked.json()["id"])
    bus, meta = api.container.bus(), CommandMeta(actor="erp:test", correlation_id="memo")
    await bus.handle(c.CapturePayment(order_id=UUID(order["id"])), meta)  # as fulfilment would
    await bus.handle(
        c.ReceiveReturn(return_id=return_id, lines=(c.SkuCount(sku=SKU, quantity=1),)), meta
    )
    restock = c.InspectedSku(sku=SKU, disposition=Disposition.RESTOCK)
    await bus.handle(c.InspectReturn(return_id=return_id, lines=(restock,)), meta)
    memo = c.PostCreditMemo(return_id=return_id, credit_memo_ref="CM-77", amount=Decimal("1.50"))
    await bus.handle(memo, meta)  # not what the return computed: held for an agent

    accepted = await decide(api, str(return_id), "accept-credit-memo")

    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["status"], accepted.json()["refund_amount"]) == ("refunded", "1.50")
    assert (await decide(api, str(return_id), "accept-credit-memo")).status_code == 409

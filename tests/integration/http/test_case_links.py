"""CRM case links are an agent's act; an order's cases and returns are bounded (422, stable codes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import case_id
from tests.integration.http.conftest import Api
from tests.integration.http.requests import (
    api_with,
    assert_problem,
    error_fields,
    get_order,
    idempotent,
    place_order,
    request_return,
    return_body,
    ship,
    stock,
)


async def link(api: Api, order_id: str, case: str, who: str = "agent") -> Any:
    return await api.client.post(
        f"/v1/orders/{order_id}/case", json={"case_id": case}, headers=idempotent(api, who)
    )


async def delivered_order(api: Api) -> dict[str, Any]:
    """Two units, delivered: two returns of one unit fit."""
    await stock(api)
    order = await place_order(api)
    await ship(api, order, delivered=True)
    return await get_order(api, order["id"])


async def test_a_channel_key_may_not_link_a_case_to_its_own_order(api: Api) -> None:
    await stock(api)
    order = await place_order(api)

    refused = await link(api, order["id"], case_id(1), who="web")

    assert_problem(refused, 403, "forbidden")
    after = await get_order(api, order["id"])
    assert (after["case_ids"], after["version"]) == ([], order["version"])


async def test_a_channel_s_return_may_not_name_a_case_but_an_agent_s_may(api: Api) -> None:
    order = await delivered_order(api)
    with_case = {**return_body(), "case_id": case_id(1)}

    refused = await request_return(api, order["id"], with_case, who="web")
    assert_problem(refused, 403, "forbidden")
    assert (await get_order(api, order["id"]))["returns"] == []

    accepted = await request_return(api, order["id"], with_case, who="agent")
    assert accepted.status_code == 201, accepted.text
    assert (await get_order(api, order["id"]))["case_ids"] == [case_id(1)]
    assert (await request_return(api, order["id"], return_body(), who="web")).status_code == 201


async def test_a_case_id_the_crm_would_refuse_is_refused_when_linked(api: Api) -> None:
    await stock(api)
    order = await place_order(api)

    refused = await link(api, order["id"], "CASE-1")

    assert error_fields(assert_problem(refused, 422, "validation_error")) == {"case_id"}
    assert (await get_order(api, order["id"]))["case_ids"] == []


async def test_cases_past_the_configured_limit_are_refused_with_too_many_cases(
    sqlite_engine: AsyncEngine,
) -> None:
    async with api_with(sqlite_engine, max_cases_per_order=2) as api:
        await stock(api)
        order = await place_order(api)
        for n in (1, 2, 1):
            assert (await link(api, order["id"], case_id(n))).status_code == 200

        refused = await link(api, order["id"], case_id(3))

        assert assert_problem(refused, 422, "too_many_cases")["limit"] == 2
        assert (await get_order(api, order["id"]))["case_ids"] == [case_id(1), case_id(2)]


async def test_returns_past_the_configured_limit_are_refused_cancelled_ones_counted(
    sqlite_engine: AsyncEngine,
) -> None:
    async with api_with(sqlite_engine, max_returns_per_order=2) as api:
        order = await delivered_order(api)
        for _ in range(2):
            opened = await request_return(api, order["id"], return_body())
            assert opened.status_code == 201, opened.text
            cancelled = await api.client.post(
                f"/v1/returns/{opened.json()['id']}/cancel", headers=idempotent(api)
            )
            assert (cancelled.status_code, cancelled.json()["lines"]) == (200, [])

        refused = await request_return(api, order["id"], return_body())

        assert assert_problem(refused, 422, "too_many_returns")["limit"] == 2
        assert [r["status"] for r in (await get_order(api, order["id"]))["returns"]] == [
            "cancelled",
            "cancelled",
        ]

"""Every error the HTTP API answers, provoked through HTTP: status, problem+json, stable code."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from dependency_injector import providers
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import FixedClock
from adapters.sql.api_keys import SqlApiKeys
from domain.return_policy import ReturnPolicy
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from ports.api_keys import Role, Source
from tests.integration.http.conftest import Api
from tests.integration.http.requests import (
    JSON_HEADERS,
    SKU,
    api_with,
    assert_problem,
    claim_idempotency_key,
    error_fields,
    get_order,
    idempotent,
    inbound_event,
    inventory,
    open_return,
    order_body,
    place_order,
    post_order,
    request_return,
    return_body,
    ship,
    snapshot,
    stock,
    with_value,
    without,
)

#: A loopback port nothing listens on: connecting is refused at once.
DEAD_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:1/orderhub"
MIB = 1024 * 1024


# -- 401 unauthenticated --------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-header"),
        pytest.param("Basic d2ViOnNlY3JldA==", id="basic-scheme"),
        pytest.param("Bearer", id="bearer-without-key"),
        pytest.param("Bearer    ", id="bearer-blank-key"),
        pytest.param("ohk_just-the-key", id="key-without-scheme"),
        pytest.param("Bearer ohk_not-a-key-we-issued", id="unknown-key"),
    ],
)
async def test_a_request_without_a_valid_key_is_unauthenticated(
    api: Api, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await api.client.get(f"/v1/orders/{uuid.uuid4()}", headers=headers)
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_command_without_a_key_is_refused_before_its_body_is_read(api: Api) -> None:
    response = await api.client.post(
        "/v1/orders", content=b"{not json", headers={**JSON_HEADERS, "Idempotency-Key": "k"}
    )
    assert_problem(response, 401, "unauthenticated")


# -- 403 forbidden --------------------------------------------------------------------------


async def test_a_system_key_may_not_place_an_order(api: Api) -> None:
    await stock(api)
    response = await post_order(api, order_body(), who="system")
    assert_problem(response, 403, "forbidden")
    assert (await inventory(api))["locations"][0]["reserved"] == 0


async def test_an_ops_key_may_not_place_an_order(api: Api) -> None:
    await stock(api)
    response = await post_order(api, order_body(), who="ops")
    assert_problem(response, 403, "forbidden")


@pytest.mark.parametrize("who", ["web", "agent", "ops"])
async def test_only_a_system_key_may_post_inbound_events(api: Api, who: str) -> None:
    response = await api.client.post(
        "/v1/inbound/warehouse", json=snapshot(on_hand=99), headers=api.auth(who)
    )
    assert_problem(response, 403, "forbidden")
    assert (await inventory(api))["locations"] == []


async def test_a_channel_key_may_not_place_an_order_for_another_channel(api: Api) -> None:
    await stock(api)
    response = await post_order(api, order_body(channel="pos"), who="web")
    assert_problem(response, 403, "forbidden")


async def test_a_system_key_may_not_read_an_order(api: Api) -> None:
    await stock(api)
    order = await place_order(api)
    response = await api.client.get(f"/v1/orders/{order['id']}", headers=api.auth("system"))
    assert_problem(response, 403, "forbidden")


async def test_an_ops_key_may_not_cancel_an_order(api: Api) -> None:
    await stock(api)
    order = await place_order(api)
    response = await api.client.post(
        f"/v1/orders/{order['id']}/cancel", headers=idempotent(api, "ops")
    )
    assert_problem(response, 403, "forbidden")
    assert (await get_order(api, order["id"]))["status"] == "reserved"


# -- 404 not found --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        pytest.param("GET", "", None, id="read"),
        pytest.param("POST", "/cancel", None, id="cancel"),
        pytest.param("POST", "/amend", {"lines": [{"sku": SKU, "quantity": 1}]}, id="amend"),
        pytest.param("POST", "/hold", {"reason": "fraud check"}, id="hold"),
        pytest.param("POST", "/resume", None, id="resume"),
        pytest.param("POST", "/returns", return_body(), id="request-return"),
    ],
)
async def test_another_channels_order_does_not_exist_for_a_channel_key(
    api: Api, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    await stock(api)
    order = await place_order(api, who="web")
    response = await api.client.request(
        method, f"/v1/orders/{order['id']}{suffix}", json=body, headers=idempotent(api, "pos")
    )
    problem = assert_problem(response, 404, "order_not_found")
    assert problem["detail"] == f"order {order['id']} not found"
    unchanged = await get_order(api, order["id"], who="web")
    assert (unchanged["status"], unchanged["version"]) == ("reserved", order["version"])


@pytest.mark.parametrize("who", ["web", "agent"])
async def test_an_order_nobody_placed_is_not_found(api: Api, who: str) -> None:
    missing = uuid.uuid4()
    response = await api.client.get(f"/v1/orders/{missing}", headers=api.auth(who))
    assert_problem(response, 404, "order_not_found")
    response = await api.client.post(f"/v1/orders/{missing}/cancel", headers=idempotent(api, who))
    assert_problem(response, 404, "order_not_found")


@pytest.mark.parametrize(
    ("method", "suffix"),
    [pytest.param("GET", "", id="read"), pytest.param("POST", "/cancel", id="cancel")],
)
async def test_another_channels_return_does_not_exist_for_a_channel_key(
    api: Api, method: str, suffix: str
) -> None:
    await stock(api)
    order = await place_order(api, who="web")
    await ship(api, order, delivered=True)
    return_id = await open_return(api, order["id"])

    response = await api.client.request(
        method, f"/v1/returns/{return_id}{suffix}", headers=idempotent(api, "pos")
    )

    assert_problem(response, 404, "return_not_found")
    still = await api.client.get(f"/v1/returns/{return_id}", headers=api.auth("web"))
    assert still.json()["status"] == "authorized"


@pytest.mark.parametrize("who", ["web", "agent"])
async def test_a_return_nobody_requested_is_not_found(api: Api, who: str) -> None:
    missing = uuid.uuid4()
    response = await api.client.get(f"/v1/returns/{missing}", headers=api.auth(who))
    assert_problem(response, 404, "return_not_found")
    response = await api.client.post(f"/v1/returns/{missing}/cancel", headers=idempotent(api, who))
    assert_problem(response, 404, "return_not_found")


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/v1/nothing-here", id="unknown-route"),
        pytest.param("/v2/orders", id="unknown-version"),
        pytest.param("/v1/orders/not-a-uuid", id="order-id-not-a-uuid"),
        pytest.param("/v1/returns/12345", id="return-id-not-a-uuid"),
    ],
)
async def test_an_unknown_route_is_not_found(api: Api, path: str) -> None:
    response = await api.client.get(path, headers=api.auth("agent"))
    assert_problem(response, 404, "not_found")


# -- 405 method not allowed -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        pytest.param("DELETE", "/v1/orders/{id}", "GET", id="delete-order"),
        pytest.param("PUT", "/v1/orders/{id}", "GET", id="put-order"),
        pytest.param("GET", "/v1/orders/{id}/cancel", "POST", id="get-a-command"),
        pytest.param("GET", "/v1/inbound/erp", "POST", id="get-inbound"),
    ],
)
async def test_a_method_the_route_does_not_take_is_not_allowed(
    api: Api, method: str, path: str, allowed: str
) -> None:
    response = await api.client.request(
        method, path.format(id=uuid.uuid4()), headers=api.auth("agent")
    )
    assert_problem(response, 405, "method_not_allowed")
    assert allowed in response.headers["allow"]


# -- 422 validation_error -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        pytest.param(
            without(order_body(), "currency"), "body", "missing required field `currency`",
            id="missing-top-level-field",
        ),
        pytest.param(
            without(order_body(), "customer.email"), "customer", "missing required field `email`",
            id="missing-nested-field",
        ),
        pytest.param(
            with_value(order_body(), "lines[0].quantity", "two"), "lines[0].quantity", "int",
            id="quantity-is-a-string",
        ),
        pytest.param(
            with_value(order_body(), "allow_backorder", "yes"), "allow_backorder", "bool",
            id="flag-is-a-string",
        ),
        pytest.param(
            with_value(order_body(), "lines", {"sku": SKU}), "lines", "array",
            id="lines-is-an-object",
        ),
        pytest.param(
            with_value(order_body(), "customer.name", "x" * 201), "customer.name", "200",
            id="name-too-long",
        ),
        pytest.param(
            order_body(coupon="FREE"), "body", "unknown field `coupon`", id="unknown-field",
        ),
        pytest.param(
            with_value(order_body(), "payment.surcharge", "1.00"), "payment",
            "unknown field `surcharge`", id="unknown-nested-field",
        ),
        pytest.param(
            with_value(order_body(), "lines[0].unit_price", "nineteen"), "lines[0].unit_price",
            "decimal", id="price-not-a-number",
        ),
    ],
)  # fmt: skip
async def test_a_body_that_does_not_match_the_schema_is_a_validation_error(
    api: Api, body: dict[str, Any], field: str, message: str
) -> None:
    await stock(api)
    response = await post_order(api, body)
    problem = assert_problem(response, 422, "validation_error")
    assert error_fields(problem) == {field}
    assert message in problem["errors"][0]["message"]
    assert (await inventory(api))["locations"][0]["reserved"] == 0


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        pytest.param("currency", "XXX", "currency", id="unknown-currency"),
        pytest.param("currency", "eur", "currency", id="lower-case-currency"),
        pytest.param("lines[0].quantity", 0, "lines[0].quantity", id="quantity-zero"),
        pytest.param("lines[0].quantity", -3, "lines[0].quantity", id="quantity-negative"),
        pytest.param("lines[0].unit_price", "-0.01", "lines[0].unit_price", id="negative-price"),
        pytest.param("lines[0].unit_price", "19.999", "lines[0].unit_price", id="sub-cent-price"),
        pytest.param(
            "lines",
            [
                {"sku": SKU, "quantity": 1, "unit_price": "19.99"},
                {"sku": SKU, "quantity": 1, "unit_price": "19.99"},
            ],
            "lines[1].sku",
            id="duplicate-skus",
        ),
        pytest.param("lines", [], "lines", id="no-lines"),
        pytest.param("payment.amount", "39.97", "payment.amount", id="payment-below-total"),
        pytest.param("customer.email", "ada.example.com", "customer.email", id="email-without-at"),
        pytest.param("customer.name", "   ", "customer.name", id="blank-name"),
        pytest.param("shipping_address.country", "gb", "shipping_address.country", id="country"),
        pytest.param("channel_order_ref", " ", "channel_order_ref", id="blank-reference"),
    ],
)
async def test_an_order_that_breaks_a_domain_rule_is_a_validation_error(
    api: Api, path: str, value: Any, field: str
) -> None:
    await stock(api)
    response = await post_order(api, with_value(order_body(), path, value))
    problem = assert_problem(response, 422, "validation_error")
    assert field in error_fields(problem), problem
    assert (await inventory(api))["locations"][0]["reserved"] == 0


async def test_an_agent_placing_an_order_must_name_its_channel(api: Api) -> None:
    await stock(api)
    problem = assert_problem(
        await post_order(api, order_body(), who="agent"), 422, "validation_error"
    )
    assert error_fields(problem) == {"channel"}
    placed = await post_order(api, order_body(channel="web"), who="agent")
    assert placed.status_code == 201, placed.text
    assert placed.json()["channel"] == "web"


async def test_a_refused_order_stores_nothing_and_leaves_its_idempotency_key_free(
    api: Api,
) -> None:
    await stock(api)
    key = str(uuid.uuid4())
    refused = await post_order(api, order_body(currency="XXX"), key=key)
    assert_problem(refused, 422, "validation_error")

    placed = await post_order(api, order_body(), key=key)

    assert placed.status_code == 201, placed.text
    assert "idempotent-replayed" not in placed.headers
    assert (await inventory(api))["locations"][0]["reserved"] == 2


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({"sku": SKU, "location": "dc-east", "on_hand": 5}, "data", id="no-sequence"),
        pytest.param(
            {"sku": SKU, "location": "dc-east", "on_hand": -1, "sequence": 1}, "data",
            id="negative-on-hand",
        ),
        pytest.param(
            {"sku": SKU, "location": "dc-east", "on_hand": "5", "sequence": 1}, "data",
            id="on-hand-as-a-string",
        ),
        pytest.param(
            {"sku": SKU, "location": "dc-east", "on_hand": 5, "sequence": 1, "by": "me"}, "data",
            id="unknown-data-field",
        ),
    ],
)  # fmt: skip
async def test_inbound_data_that_does_not_match_its_type_is_a_validation_error(
    api: Api, data: dict[str, Any], field: str
) -> None:
    response = await api.client.post(
        "/v1/inbound/warehouse",
        json=inbound_event("stock.snapshot", data),
        headers=api.auth("system"),
    )
    problem = assert_problem(response, 422, "validation_error")
    assert error_fields(problem) == {field}
    assert (await inventory(api))["locations"] == []


@pytest.mark.parametrize(
    ("event", "field"),
    [
        pytest.param({**snapshot(), "occurred_at": "yesterday"}, "occurred_at", id="bad-time"),
        pytest.param({**snapshot(), "event_id": ""}, "event_id", id="empty-event-id"),
        pytest.param({**snapshot(), "data": [1, 2]}, "data", id="data-not-an-object"),
    ],
)
async def test_an_inbound_envelope_that_does_not_match_the_schema_is_a_validation_error(
    api: Api, event: dict[str, Any], field: str
) -> None:
    response = await api.client.post(
        "/v1/inbound/warehouse", json=event, headers=api.auth("system")
    )
    problem = assert_problem(response, 422, "validation_error")
    assert error_fields(problem) == {field}


async def test_an_unknown_inbound_source_is_a_validation_error(api: Api) -> None:
    response = await api.client.post("/v1/inbound/fax", json=snapshot(), headers=api.auth("system"))
    problem = assert_problem(response, 422, "validation_error")
    assert error_fields(problem) == {"source"}


@pytest.mark.parametrize("whose", ["no one's", "another channel's"])
async def test_a_replacement_order_must_name_a_return_of_its_own_channel(
    api: Api, whose: str
) -> None:
    await stock(api, on_hand=20)
    pos_order = await place_order(api, who="pos")
    await ship(api, pos_order, delivered=True)
    return_id = (
        await open_return(api, pos_order["id"]) if whose != "no one's" else str(uuid.uuid4())
    )

    refused = await post_order(api, order_body(replacement_for_return_id=return_id), who="web")

    assert_problem(refused, 422, "replacement_return_not_found")
    assert refused.json()["replacement_for_return_id"] == return_id
    own = await post_order(api, order_body(replacement_for_return_id=return_id), who="pos")
    assert own.status_code == (201 if whose != "no one's" else 422), own.text


# -- 400 malformed_json, 413 payload_too_large ----------------------------------------------


@pytest.mark.parametrize(
    ("path", "who"),
    [pytest.param("/v1/orders", "web", id="place-order"),
     pytest.param("/v1/inbound/warehouse", "system", id="inbound")],
)  # fmt: skip
async def test_a_body_that_is_not_json_is_malformed(api: Api, path: str, who: str) -> None:
    response = await api.client.post(
        path,
        content=b'{"channel_order_ref": "A-1",',
        headers={**idempotent(api, who), **JSON_HEADERS},
    )
    assert_problem(response, 400, "malformed_json")


async def _stream(total: int, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        size = min(chunk, total - sent)
        sent += size
        yield b" " * size


@pytest.mark.parametrize(
    "streamed",
    [pytest.param(False, id="content-length"), pytest.param(True, id="chunked-no-length")],
)
async def test_a_body_over_one_mebibyte_is_too_large(api: Api, streamed: bool) -> None:
    await stock(api)
    size = MIB + 1
    content = _stream(size) if streamed else b" " * size
    response = await api.client.post(
        "/v1/orders", content=content, headers={**idempotent(api), **JSON_HEADERS}
    )
    assert_problem(response, 413, "payload_too_large")


async def test_a_body_of_exactly_one_mebibyte_is_read(api: Api) -> None:
    await stock(api)
    body = json.dumps(order_body()).encode()
    padded = body + b" " * (MIB - len(body))
    assert len(padded) == MIB
    response = await api.client.post(
        "/v1/orders", content=padded, headers={**idempotent(api), **JSON_HEADERS}
    )
    assert response.status_code == 201, response.text


# -- idempotency ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [pytest.param({}, id="no-header"), pytest.param({"Idempotency-Key": ""}, id="empty")],
)
async def test_placing_an_order_needs_an_idempotency_key(api: Api, headers: dict[str, str]) -> None:
    await stock(api)
    response = await api.client.post(
        "/v1/orders", json=order_body(), headers={**api.auth("web"), **headers}
    )
    assert_problem(response, 400, "idempotency_key_required")
    assert (await inventory(api))["locations"][0]["reserved"] == 0


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("has a space", id="space"),
        pytest.param("k" * 201, id="201-characters"),
        pytest.param("tab\there", id="control-character"),
        pytest.param("caf\xe9".encode("latin-1"), id="non-ascii-byte"),
    ],
)
async def test_a_malformed_idempotency_key_is_refused(api: Api, key: str | bytes) -> None:
    await stock(api)
    response = await api.client.post(
        "/v1/orders", json=order_body(), headers={**api.auth("web"), "Idempotency-Key": key}
    )
    assert_problem(response, 400, "invalid_idempotency_key")
    assert (await inventory(api))["locations"][0]["reserved"] == 0


async def test_a_retry_with_the_same_key_and_body_replays_the_first_answer(api: Api) -> None:
    await stock(api)
    key, body = str(uuid.uuid4()), order_body()
    first = await post_order(api, body, key=key)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers

    retry = await post_order(api, body, key=key)

    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == first.content
    assert retry.headers["etag"] == first.headers["etag"]
    assert retry.headers["location"] == first.headers["location"]
    assert (await inventory(api))["locations"][0]["reserved"] == 2


async def test_a_key_is_per_api_key_so_another_channel_may_use_the_same_one(api: Api) -> None:
    await stock(api)
    key = str(uuid.uuid4())
    web = await post_order(api, order_body(), who="web", key=key)
    pos = await post_order(api, order_body(), who="pos", key=key)
    assert (web.status_code, pos.status_code) == (201, 201)
    assert web.json()["id"] != pos.json()["id"]
    assert "idempotent-replayed" not in pos.headers


async def test_the_same_key_with_a_different_body_is_refused(api: Api) -> None:
    await stock(api)
    key = str(uuid.uuid4())
    first = await post_order(api, order_body(), key=key)
    assert first.status_code == 201, first.text

    reused = await post_order(api, order_body(), key=key)  # another channel_order_ref

    assert_problem(reused, 422, "idempotency_key_reused")
    assert (await inventory(api))["locations"][0]["reserved"] == 2


async def test_a_key_whose_first_request_is_still_running_is_in_progress(api: Api) -> None:
    await stock(api)
    key = str(uuid.uuid4())
    body = json.dumps(order_body()).encode()
    await claim_idempotency_key(api, "web", key, "/v1/orders", body)
    headers = {**idempotent(api, "web", key), **JSON_HEADERS}

    response = await api.client.post("/v1/orders", content=body, headers=headers)

    assert_problem(response, 409, "request_in_progress")
    assert (await inventory(api))["locations"][0]["reserved"] == 0
    # The first request died: once its lease has passed, a retry takes the key over.
    api.clock.advance(timedelta(seconds=31))
    retried = await api.client.post("/v1/orders", content=body, headers=headers)
    assert retried.status_code == 201, retried.text
    assert (await inventory(api))["locations"][0]["reserved"] == 2


@pytest.mark.postgres
async def test_concurrent_requests_with_one_key_place_one_order(pg_api: Api) -> None:
    api = pg_api
    await stock(api)
    key, body = str(uuid.uuid4()), order_body()

    responses = await asyncio.gather(*(post_order(api, body, key=key) for _ in range(8)))

    fresh = [
        r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers
    ]
    assert len(fresh) == 1
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "request_in_progress")
        else:
            assert response.status_code == 201, response.text
            assert response.content == fresh[0].content
    assert (await inventory(api))["locations"][0]["reserved"] == 2


# -- 409 conflicts, 412 and 400 for If-Match ------------------------------------------------


async def test_a_second_order_with_the_same_channel_reference_names_the_first(api: Api) -> None:
    await stock(api)
    first = await place_order(api, channel_order_ref="WEB-1001")

    response = await post_order(api, order_body(channel_order_ref="WEB-1001"))

    problem = assert_problem(response, 409, "duplicate_order")
    assert problem["existing_order_id"] == first["id"]
    assert (await inventory(api))["locations"][0]["reserved"] == 2


async def test_another_channel_may_reuse_a_channel_reference(api: Api) -> None:
    await stock(api)
    await place_order(api, who="web", channel_order_ref="R-1")
    response = await post_order(api, order_body(channel_order_ref="R-1"), who="pos")
    assert response.status_code == 201, response.text


async def test_an_order_beyond_the_stock_without_backorder_names_the_shortage(api: Api) -> None:
    await stock(api, on_hand=10)
    await stock(api, sku="SKU-BLUE-L", on_hand=50)
    body = order_body(
        lines=[
            {"sku": SKU, "quantity": 12, "unit_price": "1.00"},
            {"sku": "SKU-BLUE-L", "quantity": 1, "unit_price": "1.00"},
        ],
        payment={"reference": "psp-9", "amount": "13.00"},
    )

    response = await post_order(api, body)

    problem = assert_problem(response, 409, "insufficient_stock")
    assert problem["shortages"] == [{"sku": SKU, "requested": 12, "available": 10}]
    assert (await inventory(api))["locations"][0]["reserved"] == 0
    assert (await inventory(api, "SKU-BLUE-L"))["locations"][0]["reserved"] == 0


@pytest.mark.parametrize(
    ("suffix", "body"),
    [
        pytest.param("/amend", {"lines": [{"sku": SKU, "quantity": 1}]}, id="amend"),
        pytest.param("/cancel", None, id="cancel"),
        pytest.param("/hold", {"reason": "call the customer"}, id="hold"),
    ],
)
@pytest.mark.parametrize("if_match", ['"1"', "1", 'W/"1"'])
async def test_a_command_on_a_stale_version_fails_its_precondition(
    api: Api, suffix: str, body: dict[str, Any] | None, if_match: str
) -> None:
    await stock(api)
    order = await place_order(api)
    assert order["version"] != 1

    response = await api.client.post(
        f"/v1/orders/{order['id']}{suffix}",
        json=body,
        headers={**idempotent(api), "If-Match": if_match},
    )

    problem = assert_problem(response, 412, "version_mismatch")
    assert (problem["expected_version"], problem["current_version"]) == (1, order["version"])
    assert (await get_order(api, order["id"]))["version"] == order["version"]


async def test_a_command_on_the_current_version_passes_its_precondition(api: Api) -> None:
    await stock(api)
    order = await place_order(api)
    etag = (await api.client.get(f"/v1/orders/{order['id']}", headers=api.auth("web"))).headers[
        "etag"
    ]
    response = await api.client.post(
        f"/v1/orders/{order['id']}/cancel", headers={**idempotent(api), "If-Match": etag}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"


@pytest.mark.parametrize("if_match", ["abc", '"v3"', "-1", "1.5", ""])
async def test_an_if_match_that_is_not_a_version_is_refused(api: Api, if_match: str) -> None:
    await stock(api)
    order = await place_order(api)
    response = await api.client.post(
        f"/v1/orders/{order['id']}/cancel", headers={**idempotent(api), "If-Match": if_match}
    )
    assert_problem(response, 400, "invalid_if_match")
    assert (await get_order(api, order["id"]))["status"] == "reserved"


async def test_cancelling_a_cancelled_order_is_an_invalid_transition(api: Api) -> None:
    await stock(api)
    order = await place_order(api)
    cancelled = await api.client.post(f"/v1/orders/{order['id']}/cancel", headers=idempotent(api))
    assert cancelled.status_code == 200, cancelled.text

    again = await api.client.post(f"/v1/orders/{order['id']}/cancel", headers=idempotent(api))

    problem = assert_problem(again, 409, "invalid_transition")
    assert (problem["state"], problem["command"]) == ("cancelled", "cancel")


async def test_resuming_an_order_that_is_not_on_hold_is_an_invalid_transition(api: Api) -> None:
    await stock(api)
    order = await place_order(api)
    response = await api.client.post(f"/v1/orders/{order['id']}/resume", headers=idempotent(api))
    assert_problem(response, 409, "invalid_transition")
    assert (await get_order(api, order["id"]))["status"] == "reserved"


async def test_cancelling_a_shipped_order_is_an_invalid_transition(api: Api) -> None:
    await stock(api)
    order = await place_order(api)
    await ship(api, order, delivered=False)
    response = await api.client.post(f"/v1/orders/{order['id']}/cancel", headers=idempotent(api))
    assert_problem(response, 409, "invalid_transition")
    assert (await get_order(api, order["id"]))["status"] == "shipped"


async def test_cancelling_a_cancelled_return_is_an_invalid_transition(api: Api) -> None:
    await stock(api)
    order = await place_order(api)
    await ship(api, order, delivered=True)
    return_id = await open_return(api, order["id"])
    first = await api.client.post(f"/v1/returns/{return_id}/cancel", headers=idempotent(api))
    assert first.status_code == 200, first.text

    again = await api.client.post(f"/v1/returns/{return_id}/cancel", headers=idempotent(api))

    assert_problem(again, 409, "invalid_transition")


# -- 422 return policy ----------------------------------------------------------------------


async def test_the_app_runs_on_the_container_clock(api: Api) -> None:
    await stock(api)
    api.clock.advance(timedelta(days=3, hours=2))
    order = await place_order(api)
    assert order["created_at"] == api.clock.now().isoformat().replace("+00:00", "Z")


async def test_a_return_inside_the_window_is_created_and_authorized(api: Api) -> None:
    await stock(api)
    order = await place_order(api)
    await ship(api, order, delivered=True)
    api.clock.advance(timedelta(days=29))

    response = await request_return(api, order["id"], return_body(quantity=1))

    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["order_id"], created["status"]) == (order["id"], "authorized")
    assert created["rma_number"]
    returns = (await get_order(api, order["id"]))["returns"]
    assert returns == [{"id": created["id"], "status": "authorized"}]


async def test_a_return_after_the_window_from_delivery_has_expired(api: Api) -> None:
    await stock(api)
    order = await place_order(api)
    await ship(api, order, delivered=True)
    api.clock.advance(timedelta(days=30, seconds=1))

    late = await request_return(api, order["id"], return_body(quantity=1))

    assert_problem(late, 422, "return_window_expired")
    assert (await get_order(api, order["id"]))["returns"] == []


async def test_a_return_of_a_sku_the_channel_does_not_take_back_is_refused(
    sqlite_engine: AsyncEngine,
) -> None:
    policy = ReturnPolicy(non_returnable_skus=frozenset({"GIFT-CARD"}))
    async with api_with(sqlite_engine, channel_policies={"web": policy}) as api:
        await stock(api)
        await stock(api, sku="GIFT-CARD", on_hand=5)
        order = await place_order(
            api,
            lines=[
                {"sku": SKU, "quantity": 1, "unit_price": "19.99"},
                {"sku": "GIFT-CARD", "quantity": 1, "unit_price": "25.00"},
            ],
            payment={"reference": "psp-7", "amount": "44.99"},
        )
        await ship(api, order, delivered=True)

        response = await request_return(api, order["id"], return_body(sku="GIFT-CARD"))

        assert_problem(response, 422, "not_returnable")
        assert (await get_order(api, order["id"]))["returns"] == []


@pytest.mark.parametrize(
    ("shipped", "earlier_return", "quantity"),
    [
        pytest.param(False, 0, 1, id="nothing-shipped-yet"),
        pytest.param(True, 0, 3, id="more-than-shipped"),
        pytest.param(True, 1, 2, id="open-return-counts"),
    ],
)
async def test_a_return_of_more_than_is_returnable_is_refused(
    api: Api, shipped: bool, earlier_return: int, quantity: int
) -> None:
    await stock(api)
    order = await place_order(api)  # two units
    if shipped:
        await ship(api, order, delivered=True)
    if earlier_return:
        await open_return(api, order["id"], quantity=earlier_return)

    response = await request_return(api, order["id"], return_body(quantity=quantity))

    assert_problem(response, 422, "quantity_exceeds_returnable")
    returns = (await get_order(api, order["id"]))["returns"]
    assert len(returns) == (1 if earlier_return else 0)


# -- inbound --------------------------------------------------------------------------------


async def test_an_inbound_event_type_the_hub_does_not_take_is_unsupported(api: Api) -> None:
    response = await api.client.post(
        "/v1/inbound/erp",
        json=inbound_event("order.teleported", {"order_id": str(uuid.uuid4())}),
        headers=api.auth("system"),
    )
    problem = assert_problem(response, 422, "unsupported_event_type")
    assert "stock.snapshot" in problem["supported"]


# -- 429 rate_limited -----------------------------------------------------------------------


async def test_a_key_over_its_rate_limit_is_told_when_to_retry(
    sqlite_engine: AsyncEngine,
) -> None:
    async with api_with(sqlite_engine, rate_limit="3/second") as api:
        path = f"/v1/inventory/{SKU}"
        allowed = [await api.client.get(path, headers=api.auth("web")) for _ in range(3)]
        assert [r.status_code for r in allowed] == [200, 200, 200]

        limited = await api.client.get(path, headers=api.auth("web"))

        assert_problem(limited, 429, "rate_limited")
        assert 1 <= int(limited.headers["retry-after"]) <= 2
        other_key = await api.client.get(path, headers=api.auth("pos"))
        assert other_key.status_code == 200


# -- 503 database_unavailable ---------------------------------------------------------------


@dataclass
class DeadDatabase:
    client: AsyncClient
    keys: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


@asynccontextmanager
async def app_on_a_dead_database(keys_engine: AsyncEngine | None) -> AsyncIterator[DeadDatabase]:
    """The app with DATABASE_URL on a port nothing listens on. With `keys_engine`, API keys are
    still checked against a live database (as when they were cached before the outage)."""
    container = build_container(Settings(database_url=DEAD_DATABASE))
    clock = FixedClock()
    container.clock.override(clock)
    keys: dict[str, str] = {}
    if keys_engine is not None:
        store = SqlApiKeys(keys_engine, clock)
        container.api_keys.override(providers.Object(store))
        _, keys["web"] = await store.create(Role.CHANNEL, "web", "web")
        _, keys["agent"] = await store.create(Role.AGENT, None, "agent")
        _, keys["system"] = await store.create(Role.SYSTEM, None, "system", frozenset(Source))
    else:
        keys = {who: f"ohk_{who}-key-nobody-can-check" for who in ("web", "agent", "system")}
    app = create_app(container)
    transport = ASGITransport(app=app)
    async with AsyncClient(transport=transport, base_url="http://orderhub.test") as client:
        yield DeadDatabase(client, keys)
    await container.engine().dispose()
    await container.read_engine().dispose()


async def _send(dead: DeadDatabase, method: str, path: str, who: str, body: Any) -> Any:
    headers = {**dead.auth(who), "Idempotency-Key": str(uuid.uuid4())}
    started = time.monotonic()
    response = await dead.client.request(method, path, json=body, headers=headers)
    return response, time.monotonic() - started


DATABASE_CALLS = [
    pytest.param("POST", "/v1/orders", "web", order_body(), id="place-order"),
    pytest.param("GET", f"/v1/orders/{uuid.uuid4()}", "web", None, id="read-order"),
    pytest.param("GET", f"/v1/returns/{uuid.uuid4()}", "agent", None, id="read-return"),
    pytest.param("GET", f"/v1/inventory/{SKU}", "agent", None, id="read-inventory"),
    pytest.param("POST", "/v1/inbound/warehouse", "system", snapshot(), id="inbound-event"),
]


@pytest.mark.parametrize(("method", "path", "who", "body"), DATABASE_CALLS)
async def test_a_request_needing_an_unreachable_database_fails_fast_with_503(
    sqlite_engine: AsyncEngine, method: str, path: str, who: str, body: Any
) -> None:
    async with app_on_a_dead_database(keys_engine=sqlite_engine) as dead:
        response, seconds = await _send(dead, method, path, who, body)
    assert_problem(response, 503, "database_unavailable")
    assert int(response.headers["retry-after"]) >= 1
    assert seconds < 5


@pytest.mark.parametrize(("method", "path", "who", "body"), DATABASE_CALLS[:2])
async def test_checking_a_key_against_an_unreachable_database_fails_fast_with_503(
    method: str, path: str, who: str, body: Any
) -> None:
    async with app_on_a_dead_database(keys_engine=None) as dead:
        response, seconds = await _send(dead, method, path, who, body)
    assert_problem(response, 503, "database_unavailable")
    assert int(response.headers["retry-after"]) >= 1
    assert seconds < 5

"""Request bodies and calls the HTTP tests share: a valid order, stock, shipping, problem checks."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.commands import BookOrder, RecordDelivery, RecordShipment, RequestReturn, SkuCount
from domain.returns import ReturnLineSpec
from ports.idempotency import ClaimState
from ports.unit_of_work import CommandMeta
from tests.integration.http.conftest import Api, make_api

PROBLEM_JSON = "application/problem+json"
SKU = "SKU-RED-M"
LOCATION = "dc-east"
JSON_HEADERS = {"Content-Type": "application/json"}

_sequence = itertools.count(1)


# -- bodies ---------------------------------------------------------------------------------


def order_body(**overrides: Any) -> dict[str, Any]:
    """A place-order body the hub accepts: two units of SKU-RED-M, paid in full."""
    body: dict[str, Any] = {
        "channel_order_ref": f"WEB-{uuid.uuid4().hex[:12]}",
        "customer": {"id": "cust-1", "email": "ada@example.com", "name": "Ada Lovelace"},
        "shipping_address": {
            "name": "Ada Lovelace",
            "line1": "12 Analytical Row",
            "line2": "Flat 3",
            "city": "London",
            "postal_code": "N1 9GU",
            "country": "GB",
        },
        "currency": "EUR",
        "lines": [{"sku": SKU, "quantity": 2, "unit_price": "19.99"}],
        "payment": {"reference": "psp-123", "amount": "39.98"},
        "allow_backorder": False,
    }
    body.update(copy.deepcopy(overrides))
    return body


def inbound_event(event_type: str, data: Any, event_id: str | None = None) -> dict[str, Any]:
    return {
        "event_id": event_id or f"evt-{uuid.uuid4()}",
        "type": event_type,
        "occurred_at": "2026-11-02T08:00:00Z",
        "data": data,
    }


def snapshot(sku: str = SKU, on_hand: int = 10, location: str = LOCATION) -> dict[str, Any]:
    """A `stock.snapshot` event with a sequence higher than any sent before."""
    return inbound_event(
        "stock.snapshot",
        {"sku": sku, "location": location, "on_hand": on_hand, "sequence": next(_sequence)},
    )


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    """`lines[0].sku` → ["lines", 0, "sku"]."""
    return [int(index) if index else name for name, index in _STEP.findall(path)]


def get_at(body: Any, path: str) -> Any:
    for step in _steps(path):
        body = body[step]
    return body


def with_value(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `body` with the member at the dotted `path` set to `value`."""
    changed = copy.deepcopy(body)
    *parents, last = _steps(path)
    target: Any = changed
    for step in parents:
        target = target[step]
    target[last] = value
    return changed


def without(body: dict[str, Any], path: str) -> dict[str, Any]:
    """A copy of `body` without the member at the dotted `path`."""
    changed = copy.deepcopy(body)
    *parents, last = _steps(path)
    target: Any = changed
    for step in parents:
        target = target[step]
    del target[last]
    return changed


def raw_json(body: Any) -> bytes:
    """The body as the client sends it (UTF-8, non-ASCII kept as it is)."""
    return json.dumps(body, ensure_ascii=False).encode()


# -- calls ----------------------------------------------------------------------------------


def idempotent(api: Api, who: str = "web", key: str | None = None) -> dict[str, str]:
    """The headers of a command: the role's key and a fresh (or the given) Idempotency-Key."""
    return {**api.auth(who), "Idempotency-Key": key or str(uuid.uuid4())}


async def stock(api: Api, sku: str = SKU, on_hand: int = 10, location: str = LOCATION) -> None:
    """Set the stock of `sku` at `location` through the warehouse's inbound endpoint."""
    response = await api.client.post(
        "/v1/inbound/warehouse", json=snapshot(sku, on_hand, location), headers=api.auth("system")
    )
    assert response.status_code == 200, response.text


async def post_order(
    api: Api, body: dict[str, Any], who: str = "web", key: str | None = None
) -> httpx.Response:
    return await api.client.post("/v1/orders", json=body, headers=idempotent(api, who, key))


async def place_order(api: Api, who: str = "web", **overrides: Any) -> dict[str, Any]:
    """Place a valid order (its stock must be there) and return its resource."""
    response = await post_order(api, order_body(**overrides), who)
    assert response.status_code == 201, response.text
    return response.json()


async def get_order(api: Api, order_id: str, who: str = "agent") -> dict[str, Any]:
    response = await api.client.get(f"/v1/orders/{order_id}", headers=api.auth(who))
    assert response.status_code == 200, response.text
    return response.json()


async def inventory(api: Api, sku: str = SKU) -> dict[str, Any]:
    response = await api.client.get(f"/v1/inventory/{sku}", headers=api.auth("agent"))
    assert response.status_code == 200, response.text
    return response.json()


async def ship(api: Api, order: dict[str, Any], *, delivered: bool) -> None:
    """Book the order, ship every line from dc-east and, if asked, deliver it, all at the clock's
    present. Straight through the bus: the ERP and warehouse inbound types come later."""
    bus = api.container.bus()
    meta = CommandMeta(actor="system:test", correlation_id=str(uuid.uuid4()))
    order_id = UUID(order["id"])
    now = api.clock.now()
    await bus.handle(BookOrder(order_id=order_id, erp_order_ref=f"ERP-{order_id.hex[:8]}"), meta)
    await bus.handle(
        RecordShipment(
            order_id=order_id,
            shipment_id="shp-1",
            location=LOCATION,
            carrier="DHL",
            tracking_number="JD0002",
            lines=tuple(SkuCount(sku=ln["sku"], quantity=ln["quantity"]) for ln in order["lines"]),
            dispatched_at=now,
        ),
        meta,
    )
    if delivered:
        await bus.handle(
            RecordDelivery(order_id=order_id, shipment_id="shp-1", delivered_at=now), meta
        )


async def open_return(api: Api, order_id: str, quantity: int = 1, sku: str = SKU) -> str:
    """Open a return through the bus (see `request_return` for the HTTP way); returns its id."""
    meta = CommandMeta(actor="agent:test", correlation_id=str(uuid.uuid4()))
    command = RequestReturn(
        order_id=UUID(order_id),
        lines=(ReturnLineSpec(sku=sku, quantity=quantity, reason="too small"),),
    )
    return str(await api.container.bus().handle(command, meta))


def return_body(quantity: int = 1, sku: str = SKU) -> dict[str, Any]:
    return {"lines": [{"sku": sku, "quantity": quantity, "reason": "too small"}]}


async def request_return(
    api: Api, order_id: str, body: dict[str, Any], who: str = "web"
) -> httpx.Response:
    return await api.client.post(
        f"/v1/orders/{order_id}/returns", json=body, headers=idempotent(api, who)
    )


async def claim_idempotency_key(api: Api, who: str, key: str, path: str, body: bytes) -> None:
    """Claim `key` the way a request that is still running holds it: same principal
    (`key:<key id>`) and the same fingerprint (method, path, principal and raw body)."""
    principal = await api.container.api_keys().authenticate(api.keys[who])
    assert principal is not None
    digest = hashlib.sha256()
    for part in ("POST", path, principal.actor):
        digest.update(part.encode() + b"\n")
    digest.update(body)
    claim = await api.container.idempotency_gate().claim(
        principal.actor, key, digest.hexdigest(), api.clock.now()
    )
    assert claim.state is ClaimState.CLAIMED


# -- answers --------------------------------------------------------------------------------


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and stable code; returns its body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    problem = response.json()
    assert problem["code"] == code, problem
    assert problem["status"] == status
    for member in ("type", "title", "detail"):
        assert isinstance(problem[member], str), problem
        assert problem[member].strip(), problem
    return problem


def error_fields(problem: dict[str, Any]) -> set[str]:
    return {error["field"] for error in problem.get("errors", [])}


# -- other apps -----------------------------------------------------------------------------


@asynccontextmanager
async def api_with(engine: AsyncEngine, **settings: object) -> AsyncIterator[Api]:
    """Another app on the same database, with some settings changed."""
    built = make_api(engine, **settings)
    try:
        yield await anext(built)
    finally:
        await anext(built, None)  # runs make_api to its end: client closed, engines disposed

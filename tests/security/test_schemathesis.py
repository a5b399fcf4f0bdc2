"""Schemathesis against the app's own OpenAPI document, in-process over ASGI.

Every operation of `/schema/openapi.json`, with a valid key of each role, gets a small, seeded
(derandomized) batch of generated requests. Checks: never a 5xx (`not_a_server_error`) and every
documented answer matches its schema (`response_schema_conformance`). Path ids are drawn at random
or, half the time, are those of a real order and return, so commands also reach a live order.

The totals (operations, generated cases, failures) are printed at the end of the run.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance

from adapters.shopify_signature import shopify_hmac
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from ports.api_keys import Role, Source
from tests.integration.databases import sqlite_database
from tests.integration.http.requests import SKU, order_body, return_body, snapshot
from tests.unit.shopify.payloads import body as shopify_body
from tests.unit.shopify.payloads import shopify_cancelled_order, shopify_order, shopify_refund

SHOPIFY_SECRET = "shpss_schemathesis-0123456789abcdef"

#: Examples per operation and key: bounded so that the file runs in about a minute on two cores.
MAX_EXAMPLES = 25
#: Each example (one request) must finish within this; a hang fails instead of stalling the run.
DEADLINE = timedelta(seconds=5)
ROLES = ("web", "agent", "system", "ops")
CHECKS = [not_a_server_error, response_schema_conformance]


def _operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation in the OpenAPI document, read at collection time (the
    app is built but never touches its database)."""
    container = build_container(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    document = create_app(container).openapi_schema.to_schema()
    return sorted(
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    )


OPERATIONS = _operations()


@dataclass
class Totals:
    operations: set[tuple[str, str]] = field(default_factory=set)
    runs: int = 0
    cases: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


TOTALS = Totals()


@dataclass
class Target:
    schema: Any
    keys: dict[str, str]
    ids: dict[str, str]


def _seed(client: asgi.ASGIClient, keys: dict[str, str]) -> dict[str, str]:
    """Stock, an order of channel web, booked, shipped, delivered and paid, and a return on it; and an
    order of two units with one shipped (`partly`)."""

    def call(method: str, path: str, who: str, body: Any) -> Any:
        headers = {"Authorization": f"Bearer {keys[who]}", "Idempotency-Key": str(uuid.uuid4())}
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code < 300, (path, response.status_code, response.text)
        return response.json()

    def event(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "event_id": f"evt-{uuid.uuid4()}",
            "type": event_type,
            "occurred_at": datetime.now(UTC).isoformat(),  # a return window counts from it
            "data": data,
        }

    call("POST", "/v1/inbound/warehouse", "system", snapshot(on_hand=1000))
    for sku in ("IPOD2008PINK", "CBL-USBC-1M"):  # the Shopify fixture order's lines
        call("POST", "/v1/inbound/warehouse", "system", snapshot(sku=sku, on_hand=100))
    order = call("POST", "/v1/orders", "web", order_body())
    oid = order["id"]
    call("POST", "/v1/inbound/erp", "system", event("order.booked", {"order_id": oid, "erp_order_ref": "SO-1"}))  # fmt: skip
    call("POST", "/v1/inbound/warehouse", "system", event("shipment.dispatched", {
        "order_id": oid, "shipment_id": "S1", "location": "dc-east", "carrier": "DHL",
        "tracking_number": "JD1", "lines": [{"sku": SKU, "quantity": 2}],
    }))  # fmt: skip
    call("POST", "/v1/inbound/warehouse", "system", event("shipment.delivered", {"order_id": oid, "shipment_id": "S1"}))  # fmt: skip
    call("POST", "/v1/inbound/payment", "system", event("payment.captured", {"order_id": oid, "amount": order["total"]}))  # fmt: skip
    returned = call("POST", f"/v1/orders/{oid}/returns", "web", return_body())
    partly = call("POST", "/v1/orders", "web", order_body(channel_order_ref="W-PARTLY"))["id"]
    call("POST", "/v1/inbound/erp", "system", event("order.booked", {"order_id": partly, "erp_order_ref": "SO-2"}))  # fmt: skip
    call("POST", "/v1/inbound/warehouse", "system", event("shipment.dispatched", {
        "order_id": partly, "shipment_id": "S2", "location": "dc-east", "carrier": "DHL",
        "tracking_number": "JD2", "lines": [{"sku": SKU, "quantity": 1}],
    }))  # fmt: skip
    return {"order_id": oid, "return_id": returned["id"], "partly": partly}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with sqlite_database(str(tmp_path_factory.mktemp("schemathesis"))) as url:
        settings_ = Settings(
            database_url=url,
            # Every generated request reaches its handler: no limit answers for it.
            rate_limit="100000/second",
            public_rate_limit="100000/second",
            auth_failure_limit="100000/minute",
            shopify_webhook_secret=SHOPIFY_SECRET,
            webhook_secret_key=Fernet.generate_key().decode(),
        )

        async def create_keys() -> dict[str, str]:
            # A container of its own: its engine lives and dies on this event loop, while the
            # app's runs on the loop schemathesis drives ASGI apps on.
            container = build_container(settings_)
            try:
                keys = {}
                for who, role, channel in [
                    ("web", Role.CHANNEL, "web"),
                    ("agent", Role.AGENT, None),
                    ("system", Role.SYSTEM, None),
                    ("ops", Role.OPS, None),
                ]:
                    sources = frozenset(Source) if role is Role.SYSTEM else frozenset()
                    _, keys[who] = await container.api_keys().create(role, channel, who, sources)
                return keys
            finally:
                await container.engine().dispose()
                await container.read_engine().dispose()

        keys = asyncio.run(create_keys())
        app = create_app(build_container(settings_))
        schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
        with asgi.get_client(app) as client:
            ids = _seed(client, keys)
        yield Target(schema, keys, ids)
        asgi.shutdown_lifespans()  # runs the app's on_shutdown: its engines are disposed


def _with_real_ids(strategy: Any, ids: dict[str, str]) -> Any:
    """Half the cases address the real order or return instead of a random id."""

    def swap(drawn: tuple[Any, bool]) -> Any:
        case, real = drawn
        if real and case.path_parameters:
            for name in ("order_id", "return_id"):
                if name in case.path_parameters:
                    case.path_parameters[name] = ids[name]
        return case

    return st.tuples(strategy, st.booleans()).map(swap)


#: One valid request per operation, in an order that keeps each valid for the order's state:
#: (METHOD, path, key, path parameters, body or None, query). `fresh` is the order placed by the
#: first request, `fresh_return` the return the returns request opens on the seeded delivered
#: order `order_id`.
# fmt: off
HAPPY: list[tuple[str, str, str, dict[str, str], Any, dict[str, Any]]] = [
    ("POST", "/v1/orders", "web", {}, "order", {}),
    ("GET", "/v1/orders", "agent", {}, None, {"channel": "web", "limit": 1}),
    ("GET", "/v1/orders/{order_id}", "web", {"order_id": "fresh"}, None, {}),
    ("GET", "/v1/orders/{order_id}/timeline", "web", {"order_id": "order_id"}, None, {}),
    ("POST", "/v1/orders/{order_id}/amend", "web", {"order_id": "fresh"}, {"lines": [{"sku": SKU, "quantity": 1}]}, {}),
    ("POST", "/v1/orders/{order_id}/hold", "agent", {"order_id": "fresh"}, {"reason": "fraud check"}, {}),
    ("POST", "/v1/orders/{order_id}/resume", "agent", {"order_id": "fresh"}, None, {}),
    ("POST", "/v1/orders/{order_id}/case", "agent", {"order_id": "fresh"}, {"case_id": "500ABC000000000"}, {}),
    ("POST", "/v1/orders/{order_id}/cancel", "web", {"order_id": "fresh"}, {"reason": "changed mind"}, {}),
    ("POST", "/v1/orders/{order_id}/notes", "agent", {"order_id": "fresh"}, {"text": "customer called"}, {}),
    ("POST", "/v1/orders/{order_id}/refunds", "agent", {"order_id": "order_id"}, {"amount": "1.00", "reason": "parcel arrived late"}, {}),
    ("POST", "/v1/orders/{order_id}/cancel-remaining", "agent", {"order_id": "partly"}, {"reason": "discontinued"}, {}),
    ("POST", "/v1/orders/{order_id}/returns", "web", {"order_id": "order_id"}, return_body(), {}),
    ("POST", "/v1/returns/{return_id}/reject", "agent", {"return_id": "return_id"}, {"reason": "worn"}, {}),
    # No return is left `requested` or held for its credit memo here: the documented refusal
    # (409 invalid_transition) is the valid answer (test_return_decisions.py has the successes).
    ("POST", "/v1/returns/{return_id}/authorize", "agent", {"return_id": "fresh_return"}, None, {}),
    ("POST", "/v1/returns/{return_id}/accept-credit-memo", "agent", {"return_id": "fresh_return"}, None, {}),
    ("GET", "/v1/returns/{return_id}", "web", {"return_id": "fresh_return"}, None, {}),
    ("POST", "/v1/returns/{return_id}/cancel", "web", {"return_id": "fresh_return"}, None, {}),
    ("GET", "/v1/inventory/{sku}", "web", {"sku": SKU}, None, {}),
    ("POST", "/v1/inbound/{source}", "system", {"source": "warehouse"}, "snapshot", {}),
    ("POST", "/v1/webhooks/shopify/orders-create", "none", {}, "shopify", {}),
    ("POST", "/v1/webhooks/shopify/orders-cancelled", "none", {}, "shopify-cancelled", {}),
    ("POST", "/v1/webhooks/shopify/refunds-create", "none", {}, "shopify-refund", {}),
    ("GET", "/v1/ops/stuck", "ops", {}, None, {}),
    ("GET", "/v1/ops/outbox", "ops", {}, None, {}),
    ("GET", "/v1/ops/remotes", "ops", {}, None, {}),
    ("GET", "/v1/ops/dead-letters", "ops", {}, None, {}),
    ("POST", "/v1/ops/dead-letters/replay", "ops", {}, {"consumer": "erp", "since": "2026-01-01T00:00:00Z"}, {}),
    ("POST", "/v1/ops/projections/rebuild", "ops", {}, None, {}),
    # No dead letter exists here: the documented 404 `dead_letter_not_found` is the valid answer.
    ("POST", "/v1/ops/dead-letters/{dead_letter_id}/replay", "ops", {"dead_letter_id": str(uuid.uuid4())}, None, {}),
    ("GET", "/v1/events", "web", {}, None, {"limit": 5}),
    ("POST", "/v1/webhook-subscriptions", "ops", {}, {"url": "https://93.184.215.14/hooks", "event_types": ["OrderBooked"], "channel": "web"}, {}),
    ("GET", "/v1/webhook-subscriptions", "ops", {}, None, {}),
    ("POST", "/v1/webhook-subscriptions/{subscription_id}/replay", "ops", {"subscription_id": "subscription"}, "replay", {}),
    ("DELETE", "/v1/webhook-subscriptions/{subscription_id}", "ops", {"subscription_id": "subscription"}, None, {}),
    ("GET", "/health/live", "none", {}, None, {}),
    ("GET", "/health/ready", "none", {}, None, {}),
]
# fmt: on


#: HAPPY rows whose valid answer here is a documented refusal (see their comments in HAPPY).
REFUSED_AS_DOCUMENTED = {
    "/v1/ops/dead-letters/{dead_letter_id}/replay": 404,
    "/v1/returns/{return_id}/authorize": 409,
    "/v1/returns/{return_id}/accept-credit-memo": 409,
}


def _refund_of_an_unknown_order() -> dict[str, Any]:
    return {**shopify_refund(), "order_id": 1}


#: HAPPY's Shopify bodies: the order placed, then cancelled; a refund of an order never placed.
SHOPIFY_WEBHOOKS: dict[str, tuple[Callable[[], dict[str, Any]], str]] = {
    "shopify": (shopify_order, "orders/create"),
    "shopify-cancelled": (shopify_cancelled_order, "orders/cancelled"),
    "shopify-refund": (_refund_of_an_unknown_order, "refunds/create"),
}


def test_a_valid_request_to_every_operation_answers_as_documented(target: Target) -> None:
    """The generated requests rarely get past validation; these do, so every success body is
    checked against its documented schema at least once."""
    assert {(m, p) for m, p, *_ in HAPPY} == set(OPERATIONS), "HAPPY needs one row per operation"
    ids = dict(target.ids)
    wrong = []
    for method, path, who, parameters, wanted, query in HAPPY:
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        if who != "none":
            headers["Authorization"] = f"Bearer {target.keys[who]}"
        body = wanted
        if wanted == "order":
            body = order_body()
        elif wanted == "snapshot":
            body = snapshot(on_hand=1000)
        elif wanted == "replay":
            body = {"after": ids["cursor"]}
        elif isinstance(wanted, str) and wanted in SHOPIFY_WEBHOOKS:
            payload, topic = SHOPIFY_WEBHOOKS[wanted]
            raw = shopify_body(payload())
            headers |= {
                "X-Shopify-Hmac-Sha256": shopify_hmac(SHOPIFY_SECRET, raw),
                "X-Shopify-Topic": topic,
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            }
            body = json.loads(raw)
        case = target.schema[path][method].Case(
            path_parameters={name: ids.get(value, value) for name, value in parameters.items()},
            headers=headers,
            query=query,
            **({} if body is None else {"body": body, "media_type": "application/json"}),
        )
        response = case.call(timeout=10)
        TOTALS.cases += 1
        TOTALS.statuses[response.status_code] = TOTALS.statuses.get(response.status_code, 0) + 1
        if (method, path) == ("POST", "/v1/orders"):
            ids["fresh"] = response.json()["id"]
        if (method, path) == ("POST", "/v1/orders/{order_id}/returns"):
            ids["fresh_return"] = response.json()["id"]
        if (method, path) == ("GET", "/v1/events"):
            ids["cursor"] = response.json()["next_cursor"]
        if (method, path) == ("POST", "/v1/webhook-subscriptions"):
            ids["subscription"] = response.json()["id"]
        refused = REFUSED_AS_DOCUMENTED.get(path)
        try:
            assert (response.status_code == refused) if refused else response.status_code < 300
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (AssertionError, Exception) as e:  # noqa: BLE001 - collect them all, then fail
            wrong.append(f"{method} {path}: {response.status_code} {response.text[:300]} {e}")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_generated_requests_never_fail_the_server_or_the_schema(
    target: Target, method: str, path: str, who: str
) -> None:
    operation = target.schema[path][method]
    headers = {"Authorization": f"Bearer {target.keys[who]}"}
    TOTALS.operations.add((method, path))
    TOTALS.runs += 1

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=DEADLINE,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_with_real_ids(operation.as_strategy(), target.ids))
    def run(case: Any) -> None:
        TOTALS.cases += 1
        response = case.call(headers=headers, timeout=10)
        TOTALS.statuses[response.status_code] = TOTALS.statuses.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        run()
    except BaseException:
        TOTALS.failures.append(f"{method} {path} as {who}")
        raise


def report_totals() -> list[str]:
    """Lines for the terminal summary (see conftest.py); empty when this file did not run."""
    if not TOTALS.runs:
        return []
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(TOTALS.statuses.items()))
    return [
        f"schemathesis: {len(TOTALS.operations)} operations x keys {', '.join(ROLES)} = "
        f"{TOTALS.runs} runs, {TOTALS.cases} test cases generated, "
        f"{len(TOTALS.failures)} failures",
        f"schemathesis: responses by status: {statuses}",
        *(f"schemathesis: failed: {failure}" for failure in TOTALS.failures),
    ]

"""Schemathesis against a real `orderhub serve` on PostgreSQL, as a retailer runs it.

The server is a child process on loopback, on a throwaway migrated PostgreSQL database and the
Redis database kept for these tests (its broker and rate-limit storage). Every operation of its
`/schema/openapi.json`, with a key of each role, gets a small, seeded (derandomized) batch of
generated requests, and every answer goes through all of schemathesis's default checks (never a
5xx, every status and content type documented, headers and bodies matching their schemas, …).
Path ids are drawn at random or, half the time, are those of a real order and return, so commands
also reach a live order. Hostile values (control characters, NUL, very long strings, odd unicode)
go into every path, query and header parameter of every operation (`test_hostile_parameters…`),
and the document's links are followed from a placed order (`test_following_the_documents_links…`).

The totals (operations, cases, answers by status, failures, time) are printed at the end of the run.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from adapters.shopify_signature import shopify_hmac
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.http.examples import PLACE_ORDER_EXAMPLE, REQUEST_EXAMPLES
from entrypoints.settings import Settings
from ports.api_keys import Role, Source
from tests.e2e.processes import Hub, wait_for
from tests.integration.databases import postgres_database
from tests.integration.http.requests import SKU, order_body, return_body, snapshot
from tests.redis_db import emptied
from tests.unit.shopify.payloads import body as shopify_body
from tests.unit.shopify.payloads import shopify_cancelled_order, shopify_order, shopify_refund

SHOPIFY_SECRET = "shpss_schemathesis-0123456789abcdef"

#: Examples per operation and key: bounded so that the file runs in about a minute on two cores.
MAX_EXAMPLES = 10
#: Each example (one request) must finish within this; a hang fails instead of stalling the run.
DEADLINE = timedelta(seconds=5)
ROLES = ("web", "agent", "system", "ops")
#: Every default check, as configured by default but one: a request valid by its schema may
#: still be refused by a rule no schema expresses (an opaque cursor this API never handed out, a
#: decimal string that is not a number, a return policy, an event type its source does not
#: send), so `positive_data_acceptance` takes those documented refusals as well as 2xx.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "410", "412", "422"]
            }
        }
    }
)
#: The Redis database kept for this file's server (broker and rate-limit counters).
REDIS_URL = "redis://127.0.0.1:6379/2"


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
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    def count(self, status: int) -> None:
        self.cases += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1


TOTALS = Totals()


@dataclass
class Target:
    schema: Any
    keys: dict[str, str]
    ids: dict[str, str]


def _seed(client: httpx.Client, keys: dict[str, str]) -> dict[str, str]:
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
    for sku in ("IPOD2008PINK", "CBL-USBC-1M", "MUG-BLUE-350"):  # Shopify's, the doc example's
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
    with postgres_database() as url, emptied(REDIS_URL):
        hub = Hub(
            url,
            REDIS_URL,
            tmp_path_factory.mktemp("schemathesis"),
            # Every generated request reaches its handler: no limit answers for it.
            RATE_LIMIT="100000/second",
            PUBLIC_RATE_LIMIT="100000/second",
            AUTH_FAILURE_LIMIT="100000/minute",
            SHOPIFY_WEBHOOK_SECRET=SHOPIFY_SECRET,
            WEBHOOK_SECRET_KEY=Fernet.generate_key().decode(),
        )

        async def create_keys() -> dict[str, str]:
            container = build_container(Settings(database_url=url))
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
        try:
            hub.start("api", "serve", "--port", str(hub.port))
            wait_for(lambda: _answers(f"{hub.url}/health/ready"), 60, "orderhub serve to come up")
            TOTALS.started = time.monotonic()
            schema = schemathesis.openapi.from_url(f"{hub.url}/schema/openapi.json", config=CONFIG)
            with httpx.Client(base_url=hub.url, timeout=30) as client:
                ids = _seed(client, keys)
            yield Target(schema, keys, ids)
        finally:
            TOTALS.finished = time.monotonic()
            hub.close()
            assert "Traceback" not in hub.log("api"), hub.log("api")[-5000:]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


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
        TOTALS.count(response.status_code)
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
            case.validate_response(response, headers=headers)
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
        case.headers = {**(case.headers or {}), **headers}  # not a generated bearer token
        response = case.call(headers=headers, timeout=10)
        TOTALS.count(response.status_code)
        case.validate_response(response, headers=headers)

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
        f"{TOTALS.runs} generated runs; {TOTALS.cases} requests in all (generated, hostile, valid, "
        "along the links), "
        f"{len(TOTALS.failures)} failures, {(TOTALS.finished or time.monotonic()) - TOTALS.started:.0f} s",
        f"schemathesis: responses by status: {statuses}",
        *(f"schemathesis: failed: {failure}" for failure in TOTALS.failures),
    ]


#: Values no client should send and every server meets: control characters, NUL, a very long
#: string, odd unicode (right-to-left override, BOM, a combining mark, astral plane, lone `%`).
HOSTILE = (
    "\x00",
    "a\x00b",
    "\x01\x02\x1b[31m\x7f",
    "x" * 8000,
    "\u202eevil\ufeff",
    "e\u0301\U0001f4a9\U000e0041",
    "%00%ff%",
    "../../etc/passwd",
    "' OR 1=1 --",
)


def _on_the_wire(value: str) -> str:
    """A header carries bytes: odd unicode goes as its UTF-8 bytes (what a client would send)."""
    return value.encode().decode("latin-1")


def _key_for(path: str) -> str:
    if path.startswith(("/v1/ops", "/v1/webhook-subscriptions")):
        return "ops"
    return "system" if path.startswith("/v1/inbound") else "agent"


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_hostile_parameters_get_a_documented_answer(target: Target, method: str, path: str) -> None:
    """Each hostile value in each path, query and header parameter, one at a time; the other
    path parameters address the real order and return."""
    operation = target.schema[path][method]
    wrong = []
    for parameter in operation.iter_parameters():
        location, name = parameter.location, parameter.name
        if location not in {"path", "query", "header"}:
            continue
        for value in HOSTILE:
            paths = {
                p.name: target.ids.get(p.name, str(uuid.uuid4())) for p in operation.path_parameters
            }
            headers = {"Authorization": f"Bearer {target.keys[_key_for(path)]}"}
            query: dict[str, str] = {}
            if location == "path":
                paths[name] = value
            elif location == "query":
                query[name] = value
            else:
                headers[name] = _on_the_wire(value)
            case = operation.Case(path_parameters=paths, headers=headers, query=query)
            response = case.call(timeout=10)
            TOTALS.count(response.status_code)
            try:
                case.validate_response(response, headers=headers)
            except (Exception, BaseExceptionGroup) as e:  # noqa: BLE001 - collect them all
                wrong.append(
                    f"{location} {name}={value[:20]!r}: {response.status_code} {response.text[:80]!r} {str(e)[:300]}"
                )
    assert wrong == [], "\n".join(wrong)


def _resolve(expression: str, response: Any) -> str:
    """The two runtime expressions the document's links use."""
    if expression.startswith("$response.body#/"):
        return str(response.json()[expression.removeprefix("$response.body#/")])
    if expression.startswith("$response.header."):
        values = response.headers[expression.removeprefix("$response.header.").lower()]
        return str(values[0])  # schemathesis keeps headers lower-cased, each a list
    raise AssertionError(f"unexpected link expression {expression}")


def _by_operation_id(schema: Any) -> dict[str, Any]:
    return {
        result.ok().definition.raw["operationId"]: result.ok()
        for result in schema.get_all_operations()
    }


@pytest.mark.parametrize("who", ["web", "agent"])
def test_following_the_documents_links_from_a_placed_order(target: Target, who: str) -> None:
    """Every link of the document, followed from a real answer (place → read → amend on its
    ETag, hold → resume, note, return → read the return …), two levels deep; every answer goes
    through all of schemathesis's default checks. Schemathesis's own state machine does not
    start from placeOrder here (it never chose it as a root), so the walk is explicit."""
    from entrypoints.http.openapi import LINKS

    operations = _by_operation_id(target.schema)
    headers = {"Authorization": f"Bearer {target.keys[who]}"}
    wrong: list[str] = []
    followed = 0
    answered: dict[str, int] = {}

    def call(operation_id: str, parameters: dict[str, str], body: Any = None) -> Any:
        operation = operations[operation_id]
        paths = {k.split(".", 1)[1]: v for k, v in parameters.items() if k.startswith("path.")}
        extra = {k.split(".", 1)[1]: v for k, v in parameters.items() if k.startswith("header.")}
        request_headers = {**headers, **extra, "Idempotency-Key": str(uuid.uuid4())}
        example = REQUEST_EXAMPLES.get(operation_id)
        if body is None and example is not None:
            body = example[1]
        if body is None and operation.body:  # a body the link's target needs: its example
            body = {"reason": "schemathesis"}
        case = operation.Case(
            path_parameters=paths,
            headers=request_headers,
            **({} if body is None else {"body": body, "media_type": "application/json"}),
        )
        response = case.call(timeout=10)
        TOTALS.count(response.status_code)
        answered.setdefault(operation_id, response.status_code)
        try:
            case.validate_response(response, headers=request_headers)
        except (Exception, BaseExceptionGroup) as e:  # noqa: BLE001 - collect them all
            wrong.append(f"{operation_id}: {response.status_code} {response.text[:200]} {e}")
        return response

    def walk(source: str, response: Any, depth: int) -> None:
        nonlocal followed
        if depth == 0 or response.status_code >= 300:
            return
        for target_id, parameters in LINKS.get(source, {}).values():  # in the document's order
            resolved = {
                name: _resolve(expression, response) for name, expression in parameters.items()
            }
            followed += 1
            walk(target_id, call(target_id, resolved), depth - 1)

    body = {**PLACE_ORDER_EXAMPLE, "channel_order_ref": f"LINK-{uuid.uuid4().hex[:12]}"}
    if who == "agent":
        body["channel"] = "web"
    placed = call("placeOrder", {}, body)
    assert placed.status_code == 201, placed.text
    walk("placeOrder", placed, 2)
    assert followed >= len(LINKS["placeOrder"])
    # The links lead somewhere real: the first read and the amendment on the placed ETag went
    # through (later commands on that ETag may meet 412 `version_mismatch`, as documented).
    assert (answered["getOrder"], answered["amendOrder"]) == (200, 200)
    assert wrong == [], "\n".join(wrong)

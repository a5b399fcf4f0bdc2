"""The OpenAPI document at /schema tells the truth: codes, ids, security, headers, examples, docs."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from litestar.testing import TestClient

from domain.errors import DomainError
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.http.examples import PROBLEM_EXAMPLE, REQUEST_EXAMPLES, RESPONSE_EXAMPLES
from entrypoints.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("domain", "application", "ports", "adapters", "read_models", "outbox", "entrypoints")
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Any]]:
    # Nothing here reads the database: the document and the docs page are built from the code.
    app = create_app(build_container(Settings(database_url="sqlite+aiosqlite:///:memory:")))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def document(client: TestClient[Any]) -> dict[str, Any]:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


def code_enum(document: dict[str, Any]) -> set[str]:
    return set(document["components"]["schemas"]["ProblemDetails"]["properties"]["code"]["enum"])


def _all_domain_errors(root: type[DomainError] = DomainError) -> Iterator[type[DomainError]]:
    yield root
    for sub in root.__subclasses__():
        yield from _all_domain_errors(sub)


def test_every_domain_error_code_is_in_the_problem_code_enum(document: dict[str, Any]) -> None:
    for package in PACKAGES:  # every module, so that no error class stays unseen
        for module in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            importlib.import_module(module.name)
    codes = {error.code for error in _all_domain_errors()}
    assert len(codes) > 20
    assert codes - code_enum(document) == set()


def _codes_written_in_the_http_layer() -> set[str]:
    """String codes passed to `ApiError(status, code, …)`, `problem(status, code, …)` and
    `refusal(identifier, code, …)` anywhere under entrypoints/."""
    found = set()
    for path in (ROOT / "entrypoints").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in {"ApiError", "problem", "refusal"}:
                continue
            arguments = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "code")]
            found |= {
                a.value
                for a in arguments
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            }
    return found


def test_every_code_the_http_layer_writes_is_in_the_problem_code_enum(
    document: dict[str, Any],
) -> None:
    written = _codes_written_in_the_http_layer()
    assert {"idempotency_key_required", "rate_limited", "malformed_json"} <= written
    assert written - code_enum(document) == set()


def test_operation_ids_are_unique_lower_camel_case_and_readable(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", i)] == []
    assert {"placeOrder", "amendOrder", "getOrder", "getOrderTimeline", "listOrders"} <= set(ids)


def test_only_public_routes_waive_the_api_key(document: dict[str, Any]) -> None:
    assert document["security"] == [{"ApiKey": []}]
    public = {path for _, path, op in operations(document) if op.get("security") == []}
    assert public == {
        "/health/live",
        "/health/ready",
        "/v1/webhooks/shopify/orders-create",
        "/v1/webhooks/shopify/orders-cancelled",
        "/v1/webhooks/shopify/refunds-create",
    }
    for _, path, operation in operations(document):
        if path not in public:
            assert "security" not in operation, path  # the document's bearer key applies
            assert {"401", "403", "429", "503"} <= set(operation["responses"]), path


def test_every_refusal_is_problem_json_in_the_one_problem_schema(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            assert "X-Correlation-Id" in response["headers"], (method, path, status)
            if int(status) >= 400 and path != "/health/ready":
                content = dict(response["content"])
                if status == "400":  # also the HTTP server's own answer to malformed HTTP
                    assert content.pop("text/plain") == {"schema": {"type": "string"}}
                assert content == {
                    "application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/ProblemDetails"}
                    }
                }, (method, path, status)
            if status in {"429", "503"} and path != "/health/ready":
                assert response["headers"]["Retry-After"]["required"] is True


def test_place_order_requires_its_idempotency_key_and_commands_declare_their_headers(
    document: dict[str, Any],
) -> None:
    place = document["paths"]["/v1/orders"]["post"]
    (key,) = [p for p in place["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["required"] is True
    headers = place["responses"]["201"]["headers"]
    assert {"ETag", "Location", "Idempotent-Replayed", "X-Correlation-Id"} <= set(headers)
    assert (
        "ETag" in document["paths"]["/v1/orders/{order_id}"]["get"]["responses"]["200"]["headers"]
    )


def test_statuses_are_enums_in_resources_and_the_order_filter(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "cancelled" in schemas["OrderStatus"]["enum"]
    assert schemas["OrderResource"]["properties"]["status"] == {
        "$ref": "#/components/schemas/OrderStatus"
    }
    (status,) = [
        p for p in document["paths"]["/v1/orders"]["get"]["parameters"] if p["name"] == "status"
    ]
    assert {"$ref": "#/components/schemas/OrderStatus"} in status["schema"]["oneOf"]


def _validator(document: dict[str, Any], ref: str) -> Any:
    return jsonschema_rs.validator_for({"$ref": ref, "components": document["components"]})


def test_examples_are_valid_instances_of_what_they_illustrate(document: dict[str, Any]) -> None:
    _validator(document, "#/components/schemas/ProblemDetails").validate(PROBLEM_EXAMPLE)
    shown = 0
    for _, _, operation in operations(document):
        example = RESPONSE_EXAMPLES.get(operation["operationId"])
        if example is None:
            continue
        success = next(r for s, r in operation["responses"].items() if s.startswith("2"))
        media = success["content"]["application/json"]
        assert media["examples"]["example"]["value"] == _without_nulls(example[1])
        _validator_for_media(document, media["schema"]).validate(example[1])
        shown += 1
    assert shown == len(RESPONSE_EXAMPLES)
    for _, _, operation in operations(document):
        request = REQUEST_EXAMPLES.get(operation["operationId"])
        if request is not None:
            media = operation["requestBody"]["content"]["application/json"]
            assert media["examples"]["example"]["value"] == request[1]
            _validator_for_media(document, media["schema"]).validate(request[1])
            shown += 1
    assert shown == len(RESPONSE_EXAMPLES) + len(REQUEST_EXAMPLES)


def test_links_lead_to_operations_that_exist(document: dict[str, Any]) -> None:
    ids = {operation["operationId"] for _, _, operation in operations(document)}
    place = document["paths"]["/v1/orders"]["post"]["responses"]["201"]["links"]
    assert place["AmendOrder"] == {
        "operationId": "amendOrder",
        "parameters": {
            "path.order_id": "$response.body#/id",
            "header.If-Match": "$response.header.ETag",
        },
    }
    for _, _, operation in operations(document):
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                assert link["operationId"] in ids


def _without_nulls(value: Any) -> Any:
    """The document leaves out members whose example value is null (Litestar's rendering)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _validator_for_media(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    return jsonschema_rs.validator_for({**schema, "components": document["components"]})


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in {"src", "href"} and v is not None]


def test_the_docs_page_loads_nothing_from_outside(client: TestClient[Any]) -> None:
    page = client.get("/schema")
    assert page.status_code == 200
    links = _Links()
    links.feed(page.text)
    assert links.urls, "the page loads its viewer"
    local = [u for u in links.urls if u.startswith("/") and not u.startswith("//")]
    assert [u for u in links.urls if u not in local and u != "data:,"] == []
    assert "https://" not in page.text.replace("https://orderhub.dev/", "")
    for url in local:  # and what it loads is served here, without a key
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url

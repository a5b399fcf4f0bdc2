"""Hostile input never breaks the API: a 4xx problem (never a 5xx), or text stored exactly.

Each table holds hostile values by name. A test sends them into every field they apply to,
collects every field that misbehaved (`name → field: what came back`) so that one run shows the
whole picture, and then checks that the database still takes a valid order.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.http.conftest import Api
from tests.integration.http.requests import (
    JSON_HEADERS,
    PROBLEM_JSON,
    SKU,
    api_with,
    error_fields,
    get_at,
    idempotent,
    inbound_event,
    inventory,
    order_body,
    place_order,
    post_order,
    raw_json,
    snapshot,
    stock,
    with_value,
    without,
)

#: Free-text members of the place-order body, each with its length limit and the key that
#: may send it (a channel key never names the channel; an agent key must).
ORDER_TEXT_FIELDS: list[tuple[str, int, str]] = [
    ("channel_order_ref", 100, "web"),
    ("customer.id", 200, "web"),
    ("customer.name", 200, "web"),
    ("shipping_address.name", 200, "web"),
    ("shipping_address.line1", 200, "web"),
    ("shipping_address.line2", 200, "web"),
    ("shipping_address.city", 200, "web"),
    ("shipping_address.postal_code", 20, "web"),
    ("lines[0].sku", 64, "web"),
    ("payment.reference", 200, "web"),
    ("channel", 100, "agent"),
]
#: Text members with a format (ISO codes, an e-mail address): hostile text is always refused.
ORDER_CODED_FIELDS = ["currency", "customer.email", "shipping_address.country"]
ORDER_AMOUNT_FIELDS = ["lines[0].unit_price", "payment.amount", "shipping_amount"]
ORDER_OPTIONAL_FIELDS = {"customer.id", "shipping_address.line2", "channel"}
ORDER_REQUIRED_MEMBERS = [
    "channel_order_ref",
    "customer",
    "customer.email",
    "customer.name",
    "shipping_address",
    "shipping_address.name",
    "shipping_address.line1",
    "shipping_address.city",
    "shipping_address.postal_code",
    "shipping_address.country",
    "currency",
    "lines",
    "lines[0].sku",
    "lines[0].quantity",
    "lines[0].unit_price",
    "payment",
    "payment.reference",
    "payment.amount",
]
#: Free-text members of an inbound event with their limits; `type` and `occurred_at` have
#: a format of their own.
INBOUND_TEXT_LIMITS = {"event_id": 200, "data.sku": 64, "data.location": 100}
INBOUND_TEXT_FIELDS = ["event_id", "type", "occurred_at", "data.sku", "data.location"]

NUL = "a\u0000b"
#: Text a person or a system might really send: stored and returned exactly when it fits.
LEGIT: dict[str, str] = {
    "sql-drop-table": "'; DROP TABLE orders;--",
    "sql-tautology": "1 OR 1=1",
    "sql-union": "x' UNION SELECT key_hash FROM api_keys--",
    "mixed-scripts": "Zoë 🚀 مرحبا",
    "emoji-zwj-sequence": "🚀📦👩‍👩‍👧",
    "right-to-left": "مرحبا بالعالم",
    "rtl-override": "\u202egnp.exe",
    "combining-marks": "Zoe\u0308 n\u0303o\u0301",
    "html": "<script>alert(1)</script>",
    "format-strings": "%s%n{0}${jndi:ldap://x}",
}
#: Also text that may be refused (422 naming the field) or stored exactly, never a 5xx.
HOSTILE: dict[str, str] = {**LEGIT, "nul-character": NUL}
OVERSIZE = "x" * 100_000
HOSTILE_TEXT = [pytest.param(value, id=name) for name, value in HOSTILE.items()]

WRONG_TYPES: dict[str, Any] = {
    "number": 12345,
    "float": 1.5,
    "boolean": True,
    "object": {"$ne": ""},
    "array": ["a", "b"],
    "null": None,
}

#: Hostile SKUs and other stock lines live apart from SKU, whose stock must stay as it was.
BACKORDER_SKU = "SKU-NOT-STOCKED"
INBOUND_SKU = "SKU-INBOUND"


# -- helpers --------------------------------------------------------------------------------


def is_problem(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith(PROBLEM_JSON)


def describe(response: httpx.Response) -> str:
    code = response.json().get("code") if is_problem(response) else response.text[:80]
    return f"{response.status_code} {code}"


def client_error(response: httpx.Response) -> bool:
    """A 4xx problem+json with the RFC 9457 members; never a 5xx."""
    if not (400 <= response.status_code < 500 and is_problem(response)):
        return False
    problem = response.json()
    return problem.get("status") == response.status_code and all(
        isinstance(problem.get(member), str) and problem[member]
        for member in ("type", "title", "detail", "code")
    )


def refused_naming(response: httpx.Response, field: str) -> bool:
    """422 validation_error whose `errors[]` name `field`."""
    return (
        response.status_code == 422
        and client_error(response)
        and response.json()["code"] == "validation_error"
        and field in error_fields(response.json())
    )


async def assert_still_serving(api: Api) -> None:
    """The database survived: SKU's stock is as it was and a valid order goes through."""
    before = (await inventory(api))["locations"]
    assert [(level["location"], level["on_hand"]) for level in before] == [("dc-east", 10)]
    order = await place_order(api)
    assert order["status"] == "reserved"
    after = (await inventory(api))["locations"][0]
    assert after["reserved"] == before[0]["reserved"] + 2


def body_for(who: str) -> dict[str, Any]:
    """A valid body for the key, allowed to backorder: a hostile SKU needs no stock."""
    body = order_body(allow_backorder=True, **({"channel": "web"} if who == "agent" else {}))
    return with_value(body, "lines[0].sku", BACKORDER_SKU)


async def post_raw(api: Api, path: str, content: bytes, who: str = "web") -> httpx.Response:
    headers = {**idempotent(api, who), **JSON_HEADERS}
    return await api.client.post(path, content=content, headers=headers)


def with_raw(body: dict[str, Any], path: str, token: str) -> bytes:
    """The body as JSON text with `token` written verbatim at `path` (e.g. 1e400, NaN)."""
    marker = f"@@{uuid.uuid4().hex}@@"
    return raw_json(with_value(body, path, marker)).replace(f'"{marker}"'.encode(), token.encode())


#: The tables send hundreds of requests a second with one key; rate limits have their own test.
UNLIMITED = "1000000/second"


@pytest.fixture
async def stocked(sqlite_engine: AsyncEngine) -> AsyncIterator[Api]:
    """The app on SQLite with 10 units of SKU at dc-east."""
    async with api_with(sqlite_engine, rate_limit=UNLIMITED) as api:
        await stock(api)
        yield api


@pytest.fixture
async def stocked_pg(postgres_engine: AsyncEngine) -> AsyncIterator[Api]:
    """The app on PostgreSQL with 10 units of SKU at dc-east."""
    async with api_with(postgres_engine, rate_limit=UNLIMITED, db_pool_size=60) as api:
        await stock(api)
        yield api


# -- text in every text field of the place-order body ---------------------------------------


async def _send_order_text(api: Api, path: str, limit: int, who: str, value: str) -> str | None:
    """What went wrong when `value` is sent in `path`, or None."""
    response = await post_order(api, with_value(body_for(who), path, value), who)
    if response.status_code == 201:
        if len(value) > limit:
            return f"{path}: accepted {len(value)} characters, the limit is {limit}"
        stored = (await api.client.get(response.headers["location"], headers=api.auth(who))).json()
        if get_at(response.json(), path) != value or get_at(stored, path) != value:
            return f"{path}: stored {get_at(stored, path)!r} instead of {value!r}"
        return None
    if refused_naming(response, path) and (len(value) > limit or value == NUL):
        return None
    return f"{path}: {describe(response)}"


@pytest.mark.parametrize("value", HOSTILE_TEXT)
async def test_text_in_an_order_is_stored_exactly_or_refused_by_field(
    stocked: Api, value: str
) -> None:
    wrong = [
        problem
        for path, limit, who in ORDER_TEXT_FIELDS
        if (problem := await _send_order_text(stocked, path, limit, who, value))
    ]
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


@pytest.mark.postgres
async def test_text_in_an_order_on_postgresql_is_stored_exactly_or_refused_by_field(
    stocked_pg: Api,
) -> None:
    """The same table on PostgreSQL, whose text and jsonb refuse characters SQLite keeps (in
    one test: a fresh PostgreSQL app per value would cost seconds)."""
    wrong = [
        f"{name} → {problem}"
        for name, value in HOSTILE.items()
        for path, limit, who in ORDER_TEXT_FIELDS
        if (problem := await _send_order_text(stocked_pg, path, limit, who, value))
    ]
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked_pg)


async def test_an_oversize_string_in_any_order_text_field_is_refused_by_field(
    stocked: Api,
) -> None:
    fields = [*ORDER_TEXT_FIELDS, *((path, 200, "web") for path in ORDER_CODED_FIELDS)]
    wrong = [
        problem
        for path, limit, who in fields
        if (problem := await _send_order_text(stocked, path, limit, who, OVERSIZE))
    ]
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


async def test_hostile_text_in_a_coded_order_field_is_refused_by_field(stocked: Api) -> None:
    wrong = []
    for name, value in HOSTILE.items():
        for path in ORDER_CODED_FIELDS:
            response = await post_order(stocked, with_value(order_body(), path, value))
            if not refused_naming(response, path):
                wrong.append(f"{name} → {path}: {describe(response)}")
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


async def test_accepted_unicode_round_trips_exactly_through_the_order_read(api: Api) -> None:
    decomposed = "Zoe\u0308"  # must not come back normalised to the composed "Zoë"
    await stock(api, sku="ÜBER-🚀-1")
    body = order_body(
        customer={"id": "ق-42", "email": "zoë@exämple.com", "name": "Zoë 🚀 مرحبا"},
        shipping_address={
            "name": decomposed,
            "line1": "שדרות רוטשילד 1",
            "line2": "🏢 ७ तल",
            "city": "Zürich",
            "postal_code": "〒100-0001",
            "country": "CH",
        },
        lines=[{"sku": "ÜBER-🚀-1", "quantity": 1, "unit_price": "19.99"}],
        payment={"reference": "支払い-1", "amount": "19.99"},
    )
    placed = await api.client.post(
        "/v1/orders", content=raw_json(body), headers={**idempotent(api), **JSON_HEADERS}
    )
    assert placed.status_code == 201, placed.text

    read = await api.client.get(f"/v1/orders/{placed.json()['id']}", headers=api.auth("web"))

    order = read.json()
    assert order["customer"] == body["customer"]
    assert order["customer"]["name"] == "Zoë 🚀 مرحبا"
    assert order["shipping_address"] == body["shipping_address"]
    assert order["shipping_address"]["name"] == decomposed
    assert order["lines"][0]["sku"] == "ÜBER-🚀-1"
    assert order["payment"]["reference"] == "支払い-1"
    assert (await inventory(api, quote("ÜBER-🚀-1")))["locations"][0]["reserved"] == 1


# -- wrong types, missing and unknown members ------------------------------------------------


async def test_a_wrong_type_in_any_order_text_field_is_refused_by_field(stocked: Api) -> None:
    wrong = []
    for name, value in WRONG_TYPES.items():
        for path in [field for field, _, _ in ORDER_TEXT_FIELDS] + ORDER_CODED_FIELDS:
            who = "agent" if path == "channel" else "web"
            response = await post_order(stocked, with_value(body_for(who), path, value), who)
            optional_null = value is None and path in ORDER_OPTIONAL_FIELDS
            if optional_null and response.status_code == 201:
                continue
            if not refused_naming(response, path):
                wrong.append(f"{name} → {path}: {describe(response)}")
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


async def test_an_order_missing_a_required_member_is_refused_naming_it(stocked: Api) -> None:
    wrong = []
    for path in ORDER_REQUIRED_MEMBERS:
        response = await post_order(stocked, without(order_body(), path))
        parent, _, member = path.rpartition(".")
        if not refused_naming(response, parent or "body"):
            wrong.append(f"{path}: {describe(response)}")
        elif f"`{member}`" not in response.json()["errors"][0]["message"]:
            wrong.append(f"{path}: {response.json()['errors']}")
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


async def test_an_order_without_an_optional_member_is_placed(stocked: Api) -> None:
    for path in ["customer.id", "shipping_address.line2", "allow_backorder"]:
        response = await post_order(stocked, without(order_body(), path))
        assert response.status_code == 201, (path, response.text)


async def test_an_order_with_an_unknown_member_anywhere_is_refused(stocked: Api) -> None:
    wrong = []
    for prefix in ["", "customer.", "shipping_address.", "lines[0].", "payment."]:
        for name in ["is_admin", "__proto__", "'; DROP TABLE orders;--"]:
            response = await post_order(stocked, with_value(order_body(), prefix + name, True))
            if not refused_naming(response, prefix.rstrip(".") or "body"):
                wrong.append(f"{prefix}{name}: {describe(response)}")
            elif "unknown field" not in response.json()["errors"][0]["message"]:
                wrong.append(f"{prefix}{name}: {response.json()['errors']}")
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


# -- numbers --------------------------------------------------------------------------------

#: JSON tokens written verbatim where a quantity goes.
QUANTITY_TOKENS = {
    "1e400": "1e400",
    "minus-1e400": "-1e400",
    "10e30": str(10**30),
    "minus-10e30": str(-(10**30)),
    "2e31": str(2**31),
    "2e64": str(2**64),
    "over-the-domain-maximum": "1000001",
    "zero": "0",
    "negative": "-1",
    "fraction": "1.5",
    "nan": "NaN",
    "infinity": "Infinity",
    "minus-infinity": "-Infinity",
    "string": '"2"',
    "boolean": "true",
    "null": "null",
}


async def test_a_hostile_quantity_is_a_client_error(stocked: Api) -> None:
    wrong = []
    for name, token in QUANTITY_TOKENS.items():
        content = with_raw(order_body(), "lines[0].quantity", token)
        response = await post_raw(stocked, "/v1/orders", content)
        if response.status_code == 400 and client_error(response):
            continue  # not JSON at all (NaN) or out of any number's range: malformed_json
        if not refused_naming(response, "lines[0].quantity"):
            wrong.append(f"{name}: {describe(response)}")
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


#: JSON tokens written verbatim where an amount (a decimal string) goes.
AMOUNT_TOKENS = {
    "1e400": "1e400",
    "minus-1e400": "-1e400",
    "10e30": str(10**30),
    "nan": "NaN",
    "infinity": "Infinity",
    "minus-infinity": "-Infinity",
    "nan-string": '"NaN"',
    "signalling-nan-string": '"sNaN"',
    "infinity-string": '"Infinity"',
    "minus-infinity-string": '"-Infinity"',
    "1e400-string": '"1e400"',
    "1e30-string": '"1E+30"',
    "tiny-string": '"1e-400"',
    "negative-string": '"-0.01"',
    "empty-string": '""',
    "hex-string": '"0x1A"',
    "decimal-comma": '"12,50"',
    "sql": '"19.99; DROP TABLE orders"',
    "boolean": "true",
    "array": "[]",
}


async def test_a_hostile_amount_is_a_client_error_naming_its_field(stocked: Api) -> None:
    wrong = []
    for name, token in AMOUNT_TOKENS.items():
        for path in ORDER_AMOUNT_FIELDS:
            response = await post_raw(stocked, "/v1/orders", with_raw(order_body(), path, token))
            if response.status_code == 400 and client_error(response):
                continue  # not JSON at all (NaN, 1e400): malformed_json, no field to name
            if not refused_naming(response, path):
                wrong.append(f"{name} → {path}: {describe(response)}")
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


# -- bodies that are not JSON, or not an object ---------------------------------------------

MALFORMED = [
    pytest.param(b"", id="empty"),
    pytest.param(b"{", id="truncated"),
    pytest.param(b"{'channel_order_ref': 'A-1'}", id="single-quotes"),
    pytest.param(b'{"channel_order_ref": "A-1",}', id="trailing-comma"),
    pytest.param(b'{"a": 1} {"b": 2}', id="two-documents"),
    pytest.param(b'{"a": 1 /* comment */}', id="comment"),
    pytest.param(b'{"a": NaN}', id="nan-literal"),
    pytest.param(b'{"a": undefined}', id="undefined"),
    pytest.param(b"\xff\xfe{\x00}\x00", id="utf-16-with-bom"),
    pytest.param(b'{"channel_order_ref": "\xed\xa0\x80"}', id="lone-surrogate-bytes"),
    pytest.param(b'{"channel_order_ref": "\xc0\xaf"}', id="overlong-utf-8"),
    pytest.param(b'{"channel_order_ref": "\xff"}', id="invalid-utf-8-byte"),
    pytest.param(b'{"channel_order_ref": "a\x00b"}', id="raw-nul-in-string"),
]
ENDPOINTS = {"place-order": ("/v1/orders", "web"), "inbound": ("/v1/inbound/warehouse", "system")}


@pytest.mark.parametrize("content", MALFORMED)
async def test_a_body_that_is_not_json_is_malformed(stocked: Api, content: bytes) -> None:
    wrong = []
    for name, (path, who) in ENDPOINTS.items():
        response = await post_raw(stocked, path, content, who)
        if not (client_error(response) and response.json()["code"] == "malformed_json"):
            wrong.append(f"{name}: {describe(response)}")
        elif response.status_code != 400:
            wrong.append(f"{name}: malformed_json with status {response.status_code}")
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


async def test_a_deeply_nested_body_is_a_client_error(stocked: Api) -> None:
    wrong = []
    for name, (path, who) in ENDPOINTS.items():
        for content in [b"[" * 100_000, b'{"a":' * 100_000]:
            response = await post_raw(stocked, path, content, who)
            if not client_error(response):
                wrong.append(f"{name} {content[:5]!r}…: {describe(response)}")
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


async def test_json_that_is_not_an_object_of_the_right_shape_is_a_validation_error(
    stocked: Api,
) -> None:
    wrong = []
    for content in [b"null", b"[]", b'"an order"', b"42", b"true", b"{}"]:
        for name, (path, who) in ENDPOINTS.items():
            response = await post_raw(stocked, path, content, who)
            if not refused_naming(response, "body"):
                wrong.append(f"{content!r} → {name}: {describe(response)}")
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


async def test_an_escaped_lone_surrogate_in_any_order_text_field_is_a_client_error(
    stocked: Api,
) -> None:
    wrong = []
    for escaped in [r"\ud800", r"\udfff", r"x\ud83dy"]:
        for path, _, who in ORDER_TEXT_FIELDS:
            content = with_raw(body_for(who), path, f'"{escaped}"')
            response = await post_raw(stocked, "/v1/orders", content, who)
            if not client_error(response):
                wrong.append(f"{escaped} → {path}: {describe(response)}")
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


# -- the inbound body -----------------------------------------------------------------------


async def _send_inbound_text(api: Api, path: str, value: str) -> str | None:
    """What went wrong when `value` is sent in `path` of a stock snapshot, or None."""
    event = snapshot(sku=INBOUND_SKU, on_hand=7)
    response = await api.client.post(
        "/v1/inbound/warehouse", json=with_value(event, path, value), headers=api.auth("system")
    )
    limit = INBOUND_TEXT_LIMITS.get(path)
    if limit is None:  # type, occurred_at: hostile text is never a type or a time of ours
        codes = ("unsupported_event_type", "validation_error") if path == "type" else ()
        ok = client_error(response) and response.json()["code"] in (*codes, "validation_error")
        return None if ok else f"{path}: {describe(response)}"
    if response.status_code == 200:
        if len(value) > limit:
            return f"{path}: accepted {len(value)} characters, the limit is {limit}"
        return await _read_inbound_back(api, path, value, event)
    field = "data" if path.startswith("data.") else path
    if refused_naming(response, field) and (len(value) > limit or value == NUL):
        return None
    return f"{path}: {describe(response)}"


async def _read_inbound_back(api: Api, path: str, value: str, event: dict[str, Any]) -> str | None:
    if path == "event_id":
        again = with_value(snapshot(sku=INBOUND_SKU, on_hand=1), "event_id", value)
        response = await api.client.post(
            "/v1/inbound/warehouse", json=again, headers=api.auth("system")
        )
        if response.json() != {"event_id": value, "status": "duplicate"}:
            return f"event_id: a repeat of {value!r} gave {describe(response)}"
        return None
    sku = value if path == "data.sku" else event["data"]["sku"]
    if "/" in sku:
        return None  # not readable by path: see test_a_sku_with_a_slash_can_be_read_back
    response = await api.client.get(
        f"/v1/inventory/{quote(sku, safe='')}", headers=api.auth("agent")
    )
    if response.status_code != 200:
        return f"{path}: reading it back gave {describe(response)}"
    read = response.json()
    location = value if path == "data.location" else event["data"]["location"]
    levels = {(level["location"], level["on_hand"]) for level in read["locations"]}
    if read["sku"] != sku or (location, 7) not in levels:
        return f"{path}: read back {read!r}"
    return None


@pytest.mark.parametrize("value", [*HOSTILE_TEXT, pytest.param(OVERSIZE, id="oversize")])
async def test_text_in_an_inbound_event_is_stored_exactly_or_refused(
    stocked: Api, value: str
) -> None:
    wrong = [
        problem
        for path in INBOUND_TEXT_FIELDS
        if (problem := await _send_inbound_text(stocked, path, value))
    ]
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


@pytest.mark.postgres
async def test_text_in_an_inbound_event_on_postgresql_is_stored_exactly_or_refused(
    stocked_pg: Api,
) -> None:
    wrong = [
        f"{name} → {problem}"
        for name, value in HOSTILE.items()
        for path in INBOUND_TEXT_FIELDS
        if (problem := await _send_inbound_text(stocked_pg, path, value))
    ]
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked_pg)


async def test_a_wrong_type_in_an_inbound_event_is_refused(stocked: Api) -> None:
    wrong = []
    for name, value in WRONG_TYPES.items():
        for path in [*INBOUND_TEXT_FIELDS, "data.on_hand", "data.sequence", "data"]:
            if name == "number" and path in {"data.on_hand", "data.sequence"}:
                continue  # the right type there
            response = await stocked.client.post(
                "/v1/inbound/warehouse",
                json=with_value(snapshot(sku=INBOUND_SKU, on_hand=3), path, value),
                headers=stocked.auth("system"),
            )
            if not (client_error(response) and response.json()["code"] == "validation_error"):
                wrong.append(f"{name} → {path}: {describe(response)}")
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


#: JSON tokens written verbatim where an inbound integer goes.
INBOUND_NUMBER_TOKENS = {
    "1e400": "1e400",
    "10e30": str(10**30),
    "minus-10e30": str(-(10**30)),
    "2e63": str(2**63),
    "2e64": str(2**64),
    "fraction": "1.5",
    "nan": "NaN",
    "infinity": "Infinity",
    "string": '"5"',
    "boolean": "true",
}


async def test_a_hostile_number_in_an_inbound_event_is_a_client_error(stocked: Api) -> None:
    adjustment = inbound_event(
        "stock.adjusted", {"sku": INBOUND_SKU, "location": "dc-east", "delta": 0}
    )
    wrong = []
    for name, token in {**INBOUND_NUMBER_TOKENS, "negative": "-1"}.items():
        for path, event in [
            ("data.on_hand", snapshot(sku=INBOUND_SKU)),
            ("data.sequence", snapshot(sku=INBOUND_SKU)),
            ("data.delta", adjustment),
        ]:
            if path == "data.delta" and name == "negative":
                continue  # a negative delta is an ordinary adjustment
            content = with_raw(event, path, token)
            response = await post_raw(stocked, "/v1/inbound/warehouse", content, "system")
            if not client_error(response):
                wrong.append(f"{name} → {path}: {describe(response)}")
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


# -- path parameters ------------------------------------------------------------------------


async def _read_hostile_sku(api: Api, value: str) -> str | None:
    response = await api.client.get(
        f"/v1/inventory/{quote(value, safe='')}", headers=api.auth("web")
    )
    if response.status_code == 200:
        read = response.json()
        return None if read == {"sku": value, "available": 0, "locations": []} else repr(read)
    if "/" in value and response.status_code == 404:
        return None  # see test_a_sku_with_a_slash_can_be_read_back
    return None if client_error(response) else describe(response)


async def test_a_hostile_sku_in_the_path_reads_as_unstocked_or_is_refused(stocked: Api) -> None:
    wrong = [
        f"{name}: {problem}"
        for name, value in {**HOSTILE, "oversize": "x" * 5000}.items()
        if (problem := await _read_hostile_sku(stocked, value))
    ]
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


@pytest.mark.postgres
async def test_a_hostile_sku_in_the_path_on_postgresql_reads_as_unstocked_or_is_refused(
    stocked_pg: Api,
) -> None:
    wrong = [
        f"{name}: {problem}"
        for name, value in HOSTILE.items()
        if (problem := await _read_hostile_sku(stocked_pg, value))
    ]
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked_pg)


async def test_a_sku_with_a_slash_can_be_read_back(stocked: Api) -> None:
    await stock(stocked, sku="BOX/12", on_hand=4)
    response = await stocked.client.get("/v1/inventory/BOX%2F12", headers=stocked.auth("web"))
    assert response.status_code == 200, describe(response)
    assert response.json()["sku"] == "BOX/12"
    assert response.json()["available"] == 4


async def test_a_malformed_sku_in_the_path_never_breaks_the_inventory_read(stocked: Api) -> None:
    wrong = []
    for name, raw_path in {
        "lone-surrogate-encoded": "%ED%A0%80",
        "overlong-slash": "%C0%AF",
        "invalid-utf-8": "%FF%FE",
        "encoded-traversal": "..%2F..%2Fetc%2Fpasswd",
        "double-encoded-nul": "%25%30%30",
        "sql": "SKU-RED-M%3B%20DROP%20TABLE%20stock_levels",
    }.items():
        response = await stocked.client.get(
            f"/v1/inventory/{raw_path}", headers=stocked.auth("web")
        )
        if response.status_code == 200:
            if response.json()["locations"] != []:
                wrong.append(f"{name}: {response.json()}")
        elif not client_error(response):
            wrong.append(f"{name}: {describe(response)}")
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


HOSTILE_SEGMENTS = {
    "sql": quote("'; DROP TABLE orders;--", safe=""),
    "sql-tautology": "1%20OR%201%3D1",
    "nul": "%00",
    "lone-surrogate": "%ED%A0%80",
    "emoji": quote("🚀", safe=""),
    "oversize": "x" * 5000,
}


@pytest.mark.parametrize(
    ("method", "template"),
    [
        pytest.param("GET", "/v1/orders/{}", id="read-order"),
        pytest.param("POST", "/v1/orders/{}/cancel", id="cancel-order"),
        pytest.param("GET", "/v1/returns/{}", id="read-return"),
        pytest.param("POST", "/v1/inbound/{}", id="inbound-source"),
    ],
)
async def test_a_hostile_id_or_source_in_the_path_is_a_client_error(
    stocked: Api, method: str, template: str
) -> None:
    who = "system" if "inbound" in template else "web"
    body = snapshot(sku=INBOUND_SKU) if method == "POST" else None
    wrong = []
    for name, segment in HOSTILE_SEGMENTS.items():
        response = await stocked.client.request(
            method, template.format(segment), json=body, headers=idempotent(stocked, who)
        )
        if not client_error(response) or response.status_code not in {404, 422}:
            wrong.append(f"{name}: {describe(response)}")
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


# -- keys and headers -----------------------------------------------------------------------


async def test_a_hostile_api_key_is_unauthenticated(stocked: Api) -> None:
    wrong = []
    for name, secret in {
        "sql": b"'; DROP TABLE api_keys;--",
        "oversize": b"x" * 10_000,
        "utf-8": "🚀".encode(),
        "lone-surrogate-bytes": b"\xed\xa0\x80",
        "nul": b"ohk_\x00",
    }.items():
        response = await stocked.client.get(
            f"/v1/inventory/{SKU}", headers={"Authorization": b"Bearer " + secret}
        )
        if not (client_error(response) and response.json()["code"] == "unauthenticated"):
            wrong.append(f"{name}: {describe(response)}")
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)


async def test_a_hostile_header_on_a_command_is_refused_or_ignored(stocked: Api) -> None:
    order = await place_order(stocked)
    wrong = []
    for name, header in {
        "if-match-sql": {"If-Match": "1; DROP TABLE orders"},
        "if-match-5000-digits": {"If-Match": "9" * 5000},
        "correlation-crlf": {"X-Correlation-Id": "x\r\ny"},
        "correlation-utf-8": {"X-Correlation-Id": "🚀".encode()},
        "correlation-oversize": {"X-Correlation-Id": "c" * 10_000},
    }.items():
        response = await stocked.client.post(
            f"/v1/orders/{order['id']}/hold",
            json={"reason": "check"},
            headers={**idempotent(stocked), **header},
        )
        if response.status_code == 200:
            # Accepted: the hostile correlation id was replaced by one of ours.
            correlation = response.headers["x-correlation-id"]
            if not re.fullmatch(r"[A-Za-z0-9._:/-]{1,200}", correlation):
                wrong.append(f"{name}: echoed {correlation[:40]!r}")
            await stocked.client.post(
                f"/v1/orders/{order['id']}/resume", headers=idempotent(stocked)
            )
        elif not client_error(response):
            wrong.append(f"{name}: {describe(response)}")
    assert not wrong, "\n".join(wrong)
    await assert_still_serving(stocked)

"""The baseline of the place-order comparison: a bare Litestar endpoint on raw asyncpg that sends
PostgreSQL the same statements as orderhub's `POST /v1/orders` (captured with
`python -m bench.capture_sql`), served the same way (uvicorn, one process).

1. the idempotency claim, committed on its own:
   `INSERT INTO idempotency_keys … ON CONFLICT DO NOTHING`;
2. then one transaction: the duplicate check on (channel, channel_order_ref), the stock rows of the
   order's SKUs (one `= ANY` read), `INSERT INTO orders` (lookup columns + JSON state), the
   conditional stock `UPDATE` that reserves, once per line in (sku, location) order (3 for a
   3-line order), `INSERT INTO outbox` of OrderPlaced and InventoryReserved (one executemany),
   and the `UPDATE` that completes the idempotency record with the response.

A request that waits more than 2 s for a pooled connection is answered 503, as orderhub's
engine does (`pool_timeout`); the pool keeps up to 20 connections, as orderhub's.

What it leaves out is what orderhub adds around those statements: the domain model, the
SQLAlchemy Core layer, pool pre-ping, API-key lookup (here: one string compare), schema
validation beyond decoding, metrics. It is not part of the product.

    DATABASE_DSN=postgresql://postgres@127.0.0.1/db BARE_KEY=secret \
        uvicorn bench.bare_app:create_app --factory --port 8001
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, Request, Response, get, post

CLAIM = (
    "INSERT INTO idempotency_keys (principal, key, fingerprint, claim_token, completed, "
    "locked_until, response_status, response_headers, response_body, created_at, expires_at) "
    "VALUES ($1::VARCHAR, $2::VARCHAR, $3::VARCHAR, $4::VARCHAR, $5::BOOLEAN, "
    "$6::TIMESTAMP WITH TIME ZONE, $7::INTEGER, $8::JSONB, $9::VARCHAR, "
    "$10::TIMESTAMP WITH TIME ZONE, $11::TIMESTAMP WITH TIME ZONE) ON CONFLICT DO NOTHING"
)
# The two SELECTs as SQLAlchemy compiles them for orderhub, line breaks included.
DUPLICATE = (
    "SELECT orders.id \n\tFROM orders \n"
    "\tWHERE orders.channel = $1::VARCHAR AND orders.channel_order_ref = $2::VARCHAR"
)
STOCK = (
    "SELECT stock_levels.sku, stock_levels.location, stock_levels.on_hand, stock_levels.reserved, "
    "stock_levels.last_sequence, stock_levels.version \n\tFROM stock_levels \n"
    "\tWHERE stock_levels.sku = ANY ($1::VARCHAR(64)[])"
)
INSERT_ORDER = (
    "INSERT INTO orders (id, channel, channel_order_ref, status, version, created_at, updated_at, "
    "next_hold_expiry, state) VALUES ($1::UUID, $2::VARCHAR, $3::VARCHAR, $4::VARCHAR, "
    "$5::INTEGER, $6::TIMESTAMP WITH TIME ZONE, $7::TIMESTAMP WITH TIME ZONE, "
    "$8::TIMESTAMP WITH TIME ZONE, $9::JSONB)"
)
RESERVE = (
    "UPDATE stock_levels SET on_hand=CASE WHEN (stock_levels.on_hand + $1::INTEGER < $2::INTEGER) "
    "THEN $3::INTEGER ELSE stock_levels.on_hand + $1::INTEGER END, "
    "reserved=(stock_levels.reserved + $4::INTEGER) "
    "WHERE stock_levels.sku = $5::VARCHAR AND stock_levels.location = $6::VARCHAR AND "
    "CASE WHEN (stock_levels.on_hand + $1::INTEGER < $2::INTEGER) THEN $3::INTEGER "
    "ELSE stock_levels.on_hand + $1::INTEGER END - (stock_levels.reserved + $4::INTEGER) "
    ">= $7::INTEGER"
)
INSERT_OUTBOX = (
    "INSERT INTO outbox (event_id, event_type, schema_version, aggregate_type, aggregate_id, "
    "aggregate_version, occurred_at, correlation_id, causation_id, actor, payload) VALUES "
    "($1::UUID, $2::VARCHAR, $3::INTEGER, $4::VARCHAR, $5::VARCHAR, $6::INTEGER, "
    "$7::TIMESTAMP WITH TIME ZONE, $8::VARCHAR, $9::VARCHAR, $10::VARCHAR, $11::JSONB)"
)
COMPLETE = (
    "UPDATE idempotency_keys SET completed=$1::BOOLEAN, response_status=$2::INTEGER, "
    "response_headers=$3::JSONB, response_body=$4::VARCHAR "
    "WHERE idempotency_keys.principal = $5::VARCHAR AND idempotency_keys.key = $6::VARCHAR AND "
    "idempotency_keys.claim_token = $7::VARCHAR AND idempotency_keys.completed IS false"
)

ACTOR = "channel:web:bare"
#: How long a request waits for a pooled connection before it is answered 503, as orderhub's
#: engine (`pool_timeout`, adapters/sql/engine.py): under a flash sale both fail fast the same way.
POOL_WAIT = 2.0
encode = msgspec.json.encode


def _problem(status: int, code: str) -> Response[bytes]:
    body = encode({"status": status, "code": code})
    return Response(body, status_code=status, media_type="application/problem+json")


@post("/v1/orders", status_code=201)
async def place_order(request: Request[Any, Any, Any]) -> Response[bytes]:
    try:
        return await _place_order(request)
    except TimeoutError:  # no pooled connection within POOL_WAIT
        return _problem(503, "database_unavailable")


async def _place_order(request: Request[Any, Any, Any]) -> Response[bytes]:
    pool: asyncpg.Pool = request.app.state.pool
    if request.headers.get("authorization") != f"Bearer {request.app.state.key}":
        return _problem(401, "unauthorized")
    key = request.headers.get("idempotency-key")
    if not key:
        return _problem(400, "idempotency_key_required")
    raw = await request.body()
    body = msgspec.json.decode(raw)
    now = datetime.now(UTC)
    fingerprint = hashlib.sha256(b"POST\n/v1/orders\n" + ACTOR.encode() + b"\n" + raw).hexdigest()
    token = str(uuid.uuid4())
    async with pool.acquire(timeout=POOL_WAIT) as conn:
        claim = await conn.execute(
            CLAIM, ACTOR, key, fingerprint, token, False, now + timedelta(seconds=30), None,
            "null", None, now, now + timedelta(days=1),
        )  # fmt: skip
    if claim != "INSERT 0 1":
        return _problem(409, "request_in_progress")
    order_id = uuid.uuid4()
    ref = body["channel_order_ref"]
    lines = body["lines"]
    skus = [ln["sku"] for ln in lines]
    async with pool.acquire(timeout=POOL_WAIT) as conn, conn.transaction():
        if await conn.fetchval(DUPLICATE, "web", ref) is not None:
            return _problem(409, "duplicate_order")
        stock = await conn.fetch(STOCK, skus)
        at = {row["sku"]: row["location"] for row in stock}
        reservations = [
            {"id": str(uuid.uuid4()), "sku": ln["sku"], "location": at.get(ln["sku"], "dc-east"),
             "quantity": ln["quantity"], "fulfilled": 0, "released": 0, "status": "held",
             "expires_at": None}
            for ln in lines
        ]  # fmt: skip
        total = f"{sum(float(ln['unit_price']) * ln['quantity'] for ln in lines):.2f}"
        address = {"line2": None, **body["shipping_address"]}
        customer = {"id": None, **body["customer"]}
        state = {
            "customer": customer, "shipping_address": address, "currency": body["currency"],
            "lines": [{**ln, "shipped": 0} for ln in lines], "shipping_amount": "0.00",
            "payment": {"reference": body["payment"]["reference"], "status": "authorized",
                        "authorized": body["payment"]["amount"], "captured": "0.00",
                        "refunded": "0.00", "channel_refunds": []},
            "allow_backorder": False, "erp_order_ref": None, "reservations": reservations,
            "shipments": [], "returns": [], "case_ids": [], "hold_reason": None, "held_at": None,
            "resume_to": None, "replacement_for_return_id": None,
        }  # fmt: skip
        await conn.execute(
            INSERT_ORDER, order_id, "web", ref, "reserved", 2, now, now, None,
            encode(state).decode(),
        )  # fmt: skip
        # In (sku, location) order, as orderhub: two orders never wait for each other's rows.
        for r in sorted(reservations, key=lambda r: (r["sku"], r["location"])):
            await conn.execute(RESERVE, 0, 0, 0, r["quantity"], r["sku"], r["location"], 0)
        correlation = str(uuid.uuid4())
        placed = {
            "order_id": str(order_id), "channel": "web", "channel_order_ref": ref,
            "customer": customer, "shipping_address": address, "currency": body["currency"],
            "lines": lines, "shipping_amount": "0.00", "total": total,
            "payment_reference": body["payment"]["reference"],
            "payment_amount": body["payment"]["amount"], "allow_backorder": False,
            "replacement_for_return_id": None,
        }  # fmt: skip
        reserved = {
            "order_id": str(order_id),
            "reservations": [
                {"reservation_id": r["id"], "sku": r["sku"], "location": r["location"],
                 "quantity": r["quantity"]}
                for r in reservations
            ],
            "order_status": "reserved",
        }  # fmt: skip
        await conn.executemany(
            INSERT_OUTBOX,
            [
                (uuid.uuid4(), "OrderPlaced", 1, "order", str(order_id), 1, now, correlation,
                 None, ACTOR, encode(placed).decode()),
                (uuid.uuid4(), "InventoryReserved", 1, "order", str(order_id), 2, now,
                 correlation, None, ACTOR, encode(reserved).decode()),
            ],
        )  # fmt: skip
        resource = {
            "id": str(order_id), "channel": "web", "channel_order_ref": ref,
            "status": "reserved", "version": 2, "currency": body["currency"], "total": total,
            "customer": customer, "shipping_address": address, "allow_backorder": False,
            "lines": [{**ln, "reserved": ln["quantity"], "shipped": 0, "returned": 0}
                      for ln in lines],
            "payment": {k: v for k, v in state["payment"].items() if k != "channel_refunds"},
            "erp_order_ref": None, "returns": [], "case_ids": [],
            "created_at": now.isoformat(), "updated_at": now.isoformat(),
        }  # fmt: skip
        response = encode(resource)
        headers = {"ETag": '"2"', "Location": f"/v1/orders/{order_id}"}
        await conn.execute(
            COMPLETE, True, 201, encode(headers).decode(), response.decode(), ACTOR, key, token
        )
    return Response(response, status_code=201, media_type="application/json", headers=headers)


@get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


async def _as_returned(_: asyncpg.Connection) -> None:
    """Leave a connection as it comes back to the pool. orderhub's pool sends nothing then (its
    transaction has ended); asyncpg's default reset would be one more round trip per release
    (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`), two per order."""


def create_app() -> Litestar:
    dsn = os.environ["DATABASE_DSN"]
    size = int(os.environ.get("DB_POOL_SIZE", "20"))

    async def start(app: Litestar) -> None:
        # Up to 20 connections, kept once open, like orderhub's engine (DB_POOL_SIZE).
        app.state.pool = await asyncpg.create_pool(
            dsn, min_size=size // 2, max_size=size, reset=_as_returned
        )
        app.state.key = os.environ["BARE_KEY"]

    async def stop(app: Litestar) -> None:
        await app.state.pool.close()

    return Litestar([place_order, live], on_startup=[start], on_shutdown=[stop])

"""A system key speaks only for the back-office systems it is bound to, and its events say so."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import FixedClock
from adapters.sql.api_keys import SqlApiKeys, key_hash
from adapters.sql.engine import create_engine
from adapters.sql.migrate import migrate
from adapters.sql.schema import api_keys, outbox
from ports.api_keys import Role, Source
from tests.integration.http import requests
from tests.integration.http.conftest import Api

CASE_UPDATE = {"case_id": "500000000000001", "order_id": "ORDER", "status": "Open", "note": "n"}
LEGACY_KEY = "ohk_a-system-key-made-before-keys-had-sources-000000000"


async def send(api: Api, who: str, source: str, body: dict[str, Any]) -> Any:
    return await api.client.post(f"/v1/inbound/{source}", headers=api.auth(who), json=body)


async def key_id(api: Api, who: str) -> uuid.UUID:
    principal = await api.container.api_keys().authenticate(api.keys[who])
    assert principal is not None
    return principal.key_id


async def actors(api: Api, order_id: str) -> dict[str, str]:
    async with api.container.engine().connect() as conn:
        rows = await conn.execute(
            select(outbox.c.event_type, outbox.c.actor).where(outbox.c.aggregate_id == order_id)
        )
        return {row.event_type: row.actor for row in rows}


async def add_unbound_system_key(engine: AsyncEngine) -> None:
    """A system key as `keys create` made it before keys were bound to sources."""
    async with engine.begin() as conn:
        await conn.execute(
            insert(api_keys).values(
                id=uuid.uuid4(), key_hash=key_hash(LEGACY_KEY), role="system", channel=None,
                label="from before sources", created_at=FixedClock().now(),
            )
        )  # fmt: skip


@pytest.mark.parametrize(
    ("source", "event"),
    [
        ("warehouse", requests.snapshot(on_hand=1000)),
        ("payment", requests.inbound_event("payment.failed", {"order_id": "ORDER", "reason": "x"})),
        ("crm", requests.inbound_event("case.updated", CASE_UPDATE)),
    ],
)
async def test_an_erp_key_cannot_send_as_another_back_office_system(
    api: Api, source: str, event: dict[str, Any]
) -> None:
    await requests.stock(api, on_hand=10)
    order = await requests.place_order(api)
    body = (
        requests.with_value(event, "data.order_id", order["id"]) if source != "warehouse" else event
    )
    before = await requests.inventory(api)

    refused = await send(api, "erp", source, body)

    problem = requests.assert_problem(refused, 403, "source_not_allowed")
    assert problem["allowed_sources"] == ["erp"]
    after = await requests.get_order(api, order["id"])
    assert (after["version"], after["status"], after["case_ids"]) == (
        order["version"], "reserved", [],
    )  # fmt: skip
    assert await requests.inventory(api) == before


async def test_an_erp_key_s_events_are_recorded_as_the_erp_s_under_its_own_id(api: Api) -> None:
    await requests.stock(api)
    order = await requests.place_order(api)
    booked = requests.inbound_event(
        "order.booked", {"order_id": order["id"], "erp_order_ref": "SO-7"}
    )

    answered = await send(api, "erp", "erp", booked)

    assert answered.status_code == 200, answered.text
    assert (await actors(api, order["id"]))["OrderBooked"] == f"erp:{await key_id(api, 'erp')}"
    story = await api.client.get(f"/v1/orders/{order['id']}/timeline", headers=api.auth("agent"))
    assert [e["source"] for e in story.json()["items"] if e["kind"] == "order.booked"] == ["erp"]


async def test_a_key_bound_to_two_sources_sends_as_either_and_as_no_other(api: Api) -> None:
    keys = api.container.api_keys()
    _, secret = await keys.create(
        Role.SYSTEM, None, "3pl", frozenset({Source.WAREHOUSE, Source.PAYMENT})
    )
    api.keys["3pl"] = secret
    assert (await send(api, "3pl", "warehouse", requests.snapshot())).status_code == 200
    booked = requests.inbound_event(
        "order.booked", {"order_id": str(uuid.uuid4()), "erp_order_ref": "SO-1"}
    )
    refused = await send(api, "3pl", "erp", booked)
    assert requests.assert_problem(refused, 403, "source_not_allowed")["allowed_sources"] == [
        "payment", "warehouse",
    ]  # fmt: skip


async def test_a_system_key_from_before_sources_still_sends_as_any_source_until_replaced(
    api: Api, sqlite_engine: AsyncEngine
) -> None:
    await add_unbound_system_key(sqlite_engine)
    api.keys["legacy"] = LEGACY_KEY
    assert (await send(api, "legacy", "warehouse", requests.snapshot())).status_code == 200
    booked = requests.inbound_event(
        "order.booked", {"order_id": str(uuid.uuid4()), "erp_order_ref": "SO-1"}
    )
    assert (await send(api, "legacy", "erp", booked)).status_code == 202  # kept for its order


async def test_an_unbound_system_key_is_warned_about_once_per_process_not_per_request(
    sqlite_engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    await add_unbound_system_key(sqlite_engine)
    uncached = SqlApiKeys(sqlite_engine, FixedClock(), cache_seconds=0)
    caplog.set_level(logging.WARNING, logger="orderhub.keys")

    for _ in range(3):
        principal = await uncached.authenticate(LEGACY_KEY)
        assert principal is not None
        assert principal.unbound_system_key

    warnings = [r for r in caplog.records if r.name == "orderhub.keys"]
    assert len(warnings) == 1
    assert str(principal.key_id) in warnings[0].getMessage()
    assert "--source" in warnings[0].getMessage()
    assert LEGACY_KEY not in caplog.text


async def test_migrating_keeps_an_older_system_key_working_unbound(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    try:
        await migrate(engine, "0007")
        await add_unbound_system_key(engine)
        await migrate(engine)
        principal = await SqlApiKeys(engine, FixedClock()).authenticate(LEGACY_KEY)
    finally:
        await engine.dispose()
    assert principal is not None
    assert (principal.role, principal.sources) == (Role.SYSTEM, None)
    assert principal.speaks_for(Source.PAYMENT)


@pytest.mark.parametrize(
    ("role", "channel", "sources", "names"),
    [
        (Role.SYSTEM, None, frozenset(), "--source"),
        (Role.CHANNEL, "web", frozenset({Source.ERP}), "--source"),
        (Role.AGENT, None, frozenset({Source.CRM}), "--source"),
    ],
)
async def test_only_a_system_key_is_bound_to_sources_and_it_needs_one(
    api: Api, role: Role, channel: str | None, sources: frozenset[Source], names: str
) -> None:
    with pytest.raises(ValueError, match=names):
        await api.container.api_keys().create(role, channel, "x", sources)

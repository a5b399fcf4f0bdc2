"""Callers without a valid key cannot hurt the hub: failed authentications and the public routes
are limited per client address before any database work, and unknown keys never push a valid
key out of the cache."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from limits.aio.storage import MemoryStorage
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import FixedClock
from adapters.sql.api_keys import SqlApiKeys
from entrypoints.http.auth import Authenticator, TooManyFailures
from entrypoints.http.rate_limit import Window, rate_limit_storage
from ports.api_keys import Principal, Role
from tests.integration.http.conftest import Api, make_api
from tests.unit.adapters.timing import FakeMonotonic

ORDERS = "/v1/orders?limit=1"


@pytest.fixture
async def limited(sqlite_engine: AsyncEngine) -> AsyncIterator[Api]:
    async for api in make_api(
        sqlite_engine, auth_failure_limit="3/minute", public_rate_limit="5/minute"
    ):
        yield api


def made_up() -> dict[str, str]:
    return {"Authorization": f"Bearer ohk_{secrets.token_urlsafe(32)}"}


class CountingKeys:
    """Wraps the key store and counts the lookups that reach it (a database query each)."""

    def __init__(self, inner: SqlApiKeys) -> None:
        self.inner = inner
        self.lookups = 0

    async def authenticate(self, secret: str) -> Principal | None:
        self.lookups += 1
        return await self.inner.authenticate(secret)

    def vouched_for(self, secret: str) -> bool:
        return self.inner.vouched_for(secret)

    async def is_active(self, key_id: UUID, generation: int) -> bool:
        return await self.inner.is_active(key_id, generation)


async def test_an_address_that_keeps_failing_gets_429_without_a_lookup_while_valid_keys_work(
    limited: Api,
) -> None:
    assert (await limited.client.get(ORDERS, headers=limited.auth("agent"))).status_code == 200
    authenticator = limited.container.authenticator()
    counting = CountingKeys(limited.container.api_keys())
    authenticator._keys = counting  # type: ignore[attr-defined]  # count what reaches the store

    statuses = [(await limited.client.get(ORDERS, headers=made_up())).status_code for _ in range(6)]

    assert statuses == [401] * 3 + [429] * 3
    assert counting.lookups == 3  # the refused ones cost no database work
    refused = await limited.client.get(ORDERS, headers=made_up())
    assert refused.json()["code"] == "too_many_failed_authentications"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["content-type"].startswith("application/problem+json")
    # The same address with a key that works is served: a gateway's other callers are unharmed.
    assert (await limited.client.get(ORDERS, headers=limited.auth("agent"))).status_code == 200


async def test_console_sign_in_failures_share_the_address_budget(limited: Api) -> None:
    form = {"key": "ohk_not-a-key"}
    origin = {"Origin": "http://orderhub.test"}
    statuses = [
        (await limited.client.post("/console/login", data=form, headers=origin)).status_code
        for _ in range(4)
    ]

    assert statuses == [401] * 3 + [429]
    page = await limited.client.post("/console/login", data=form, headers=origin)
    assert "Too many failed sign-ins" in page.text


async def test_public_routes_are_limited_per_address(limited: Api) -> None:
    statuses = [(await limited.client.get("/health/live")).status_code for _ in range(7)]

    assert statuses == [200] * 5 + [429] * 2
    refused = await limited.client.get("/health/live")
    assert refused.json()["code"] == "rate_limited"
    assert "from this address" in refused.json()["detail"]
    # Keyed routes count per key, not here.
    assert (await limited.client.get(ORDERS, headers=limited.auth("agent"))).status_code == 200


async def test_a_flood_of_unknown_keys_never_pushes_a_valid_key_out_of_the_cache(
    sqlite_engine: AsyncEngine,
) -> None:
    keys = SqlApiKeys(sqlite_engine, FixedClock(), cache_size=8)
    _, secret = await keys.create(Role.AGENT, None, "agent")
    valid = await keys.authenticate(secret)

    for _ in range(50):
        assert await keys.authenticate(f"ohk_{secrets.token_urlsafe(32)}") is None

    assert valid is not None
    assert keys.vouched_for(secret)
    assert await keys.authenticate(secret) == valid


async def test_a_valid_key_is_served_from_a_blocked_address_after_its_cache_entry_expired(
    sqlite_engine: AsyncEngine,
) -> None:
    watch = FakeMonotonic()
    keys = SqlApiKeys(sqlite_engine, FixedClock(), cache_seconds=4.0, timer=watch)
    _, secret = await keys.create(Role.AGENT, None, "agent")
    authenticator = Authenticator(keys, Window("auth-failures", "3/minute", MemoryStorage()))
    valid = await authenticator.authenticate(secret, "10.0.0.7")
    for _ in range(3):
        assert (
            await authenticator.authenticate(f"ohk_{secrets.token_urlsafe(32)}", "10.0.0.7") is None
        )
    with pytest.raises(TooManyFailures):
        await authenticator.authenticate(f"ohk_{secrets.token_urlsafe(32)}", "10.0.0.7")

    watch.advance(30)  # the valid key's cache entry is long gone; the address still blocked

    assert valid is not None
    assert await authenticator.authenticate(secret, "10.0.0.7") == valid


async def test_a_limit_whose_redis_is_away_lets_requests_through() -> None:
    window = Window("public", "1/minute", rate_limit_storage("redis://127.0.0.1:1/0"))

    assert [await window.hit("127.0.0.1") for _ in range(3)] == [True, True, True]
    assert await window.allows("127.0.0.1")

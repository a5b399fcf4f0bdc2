"""Console sessions in Redis (PRODUCT.md §8.7): two apps on one database and one Redis, as two
API processes would be, serve one console; with that Redis away the console answers 503 and
the API works on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis
from sqlalchemy.ext.asyncio import AsyncEngine

from entrypoints.http.console.session import COOKIE, SESSION_SECONDS
from entrypoints.http.console.session_store import NAMESPACE
from tests.integration.http.conftest import Api, make_api
from tests.redis_db import emptied

#: The Redis database these tests keep to themselves.
REDIS = "redis://127.0.0.1:6379/1"
#: Nothing listens on port 1 of loopback: every connection is refused at once.
REDIS_AWAY = "redis://127.0.0.1:1/1"


@pytest.fixture
def shared_redis() -> Iterator[redis.Redis]:
    with emptied(REDIS) as client:
        yield client


@pytest.fixture
async def two_apps(
    sqlite_engine: AsyncEngine, shared_redis: redis.Redis
) -> AsyncIterator[tuple[Api, Api]]:
    first_app = make_api(sqlite_engine, broker_url=REDIS)
    second_app = make_api(sqlite_engine, broker_url=REDIS)
    first, second = await anext(first_app), await anext(second_app)
    second.keys = first.keys  # one database: the first app's keys open the second too
    try:
        yield first, second
    finally:
        await anext(first_app, None)
        await anext(second_app, None)


async def page(api: Api, session: str) -> str:
    api.client.cookies.clear()
    api.client.cookies.set(COOKIE, session, domain="orderhub.test", path="/console")
    response = await api.client.get("/console")
    assert response.status_code == 200, response.text
    return response.text


def is_signed_in(html: str) -> bool:
    return 'name="csrf"' in html


def csrf_of(html: str) -> str:
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


async def test_a_session_opened_on_one_app_works_on_the_other_and_signing_out_ends_it_on_both(
    two_apps: tuple[Api, Api], shared_redis: redis.Redis
) -> None:
    first, second = two_apps
    signed = await first.client.post("/console/login", data={"key": first.keys["agent"]})
    assert signed.status_code == 303, signed.text
    session = first.client.cookies[COOKIE]

    assert is_signed_in(await page(second, session))
    [stored] = shared_redis.keys(f"{NAMESPACE}:*")
    assert stored.decode() == f"{NAMESPACE}:{session}"
    assert 0 < shared_redis.ttl(stored) <= SESSION_SECONDS  # it expires with the session
    assert first.keys["agent"].encode() not in shared_redis.get(stored)  # never the key

    html = await page(second, session)
    out = await second.client.post("/console/logout", data={"csrf": csrf_of(html)})
    assert out.status_code == 303, out.text

    assert not is_signed_in(await page(first, session))
    assert not is_signed_in(await page(second, session))
    assert shared_redis.keys(f"{NAMESPACE}:*") == []


@pytest.fixture
async def redis_away(sqlite_engine: AsyncEngine) -> AsyncIterator[Api]:
    async for api in make_api(sqlite_engine, broker_url=REDIS_AWAY):
        yield api


async def test_with_the_session_store_away_the_console_answers_503_and_the_api_works_on(
    redis_away: Api,
) -> None:
    api = redis_away
    sign_in = await api.client.post("/console/login", data={"key": api.keys["agent"]})
    assert sign_in.status_code == 503
    assert "Console sign-ins cannot be checked right now" in sign_in.text
    assert api.keys["agent"] not in sign_in.text
    api.client.cookies.set(COOKIE, "a-session-id", domain="orderhub.test", path="/console")
    assert (await api.client.get("/console")).status_code == 503

    assert (
        await api.client.get("/v1/inventory/MUG-1", headers=api.auth("agent"))
    ).status_code == 200
    assert (await api.client.get("/health/live")).status_code == 200

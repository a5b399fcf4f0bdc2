"""The webhook subscription routes (ops): the secret shown once, the SSRF guard, delete, replay's
refusals (PRODUCT.md §8.5; deliveries themselves: tests/integration/webhooks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.schema import webhook_subscriptions
from tests.integration.http.conftest import Api, make_api
from tests.integration.http.requests import PROBLEM_JSON

KEY = Fernet.generate_key().decode()
HOOK = {"url": "https://93.184.215.14/hooks", "event_types": ["OrderBooked"], "channel": "pos"}


@pytest.fixture
async def hooks(sqlite_engine: AsyncEngine) -> AsyncIterator[Api]:
    async for built in make_api(sqlite_engine, webhook_secret_key=KEY):
        yield built


async def create(api: Api, **body: Any) -> Any:
    return await api.client.post(
        "/v1/webhook-subscriptions", json={**HOOK, **body}, headers=api.auth("ops")
    )


async def test_a_subscription_shows_its_secret_once_and_stores_it_encrypted(hooks: Api) -> None:
    response = await create(hooks)
    assert response.status_code == 201, response.text
    made = response.json()
    assert len(made["secret"]) == 64
    assert made["channel"] == "pos"
    assert made["event_types"] == ["OrderBooked"]

    listing = await hooks.client.get("/v1/webhook-subscriptions", headers=hooks.auth("ops"))
    assert listing.status_code == 200
    [shown] = listing.json()["items"]
    assert shown["id"] == made["id"]
    assert "secret" not in shown
    assert made["secret"] not in listing.text

    async with hooks.container.engine().connect() as conn:
        stored = (await conn.execute(select(webhook_subscriptions.c.secret))).scalar_one()
    assert made["secret"] not in stored
    assert Fernet(KEY.encode()).decrypt(stored.encode()).decode() == made["secret"]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://93.184.215.14/x", "only http and https"),
        ("http://127.0.0.1:8080/hooks", "private, loopback or link-local"),
        ("http://localhost/hooks", "private, loopback or link-local"),
        ("http://169.254.169.254/latest/meta-data", "private, loopback or link-local"),
        ("http://10.1.2.3/hooks", "private, loopback or link-local"),
        ("http://[::1]/hooks", "private, loopback or link-local"),
        ("http://[::ffff:192.168.0.1]/hooks", "private, loopback or link-local"),
        ("https://user:pw@93.184.215.14/hooks", "credentials in the URL"),
        ("https:///nohost", "names no host"),
    ],
)
async def test_targets_the_ssrf_guard_refuses(hooks: Api, url: str, why: str) -> None:
    response = await create(hooks, url=url)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["code"] == "webhook_target_refused"
    assert why in body["detail"]
    assert body["errors"][0]["field"] == "url"


async def test_private_targets_are_allowed_when_the_setting_says_so(
    sqlite_engine: AsyncEngine,
) -> None:
    async for api in make_api(sqlite_engine, webhook_secret_key=KEY, webhook_allow_private=True):
        response = await create(api, url="http://127.0.0.1:8080/hooks")
        assert response.status_code == 201, response.text


async def test_unknown_event_types_are_refused(hooks: Api) -> None:
    response = await create(hooks, event_types=["OrderBooked", "OrderBeamedUp"])
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_event_types"


async def test_the_hubs_notes_on_its_integrations_are_not_offered(hooks: Api) -> None:
    response = await create(hooks, event_types=["OrderBooked", "IntegrationFailing"])
    assert response.status_code == 422
    assert response.json()["code"] == "event_types_not_offered"


async def test_without_a_secret_key_no_subscription_is_made(api: Api) -> None:
    response = await create(api)
    assert response.status_code == 503
    assert response.json()["code"] == "webhooks_not_configured"


async def test_delete_forgets_a_subscription_and_an_unknown_one_is_404(hooks: Api) -> None:
    made = (await create(hooks)).json()
    gone = await hooks.client.delete(
        f"/v1/webhook-subscriptions/{made['id']}", headers=hooks.auth("ops")
    )
    assert gone.status_code == 204
    again = await hooks.client.delete(
        f"/v1/webhook-subscriptions/{made['id']}", headers=hooks.auth("ops")
    )
    assert again.status_code == 404
    assert again.json()["code"] == "webhook_subscription_not_found"


async def test_replay_refuses_unknown_subscriptions_and_bad_or_expired_cursors(
    hooks: Api,
) -> None:
    made = (await create(hooks)).json()
    feed = await hooks.client.get("/v1/events", headers=hooks.auth("ops"))
    cursor = feed.json()["next_cursor"]
    replay = f"/v1/webhook-subscriptions/{made['id']}/replay"

    ok = await hooks.client.post(replay, json={"after": cursor}, headers=hooks.auth("ops"))
    assert ok.status_code == 202
    assert ok.json() == {"replayed": 0}
    bad = await hooks.client.post(replay, json={"after": "nope"}, headers=hooks.auth("ops"))
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_cursor"
    unknown = await hooks.client.post(
        "/v1/webhook-subscriptions/00000000-0000-4000-8000-000000000000/replay",
        json={"after": cursor},
        headers=hooks.auth("ops"),
    )
    assert unknown.status_code == 404
    hooks.clock.advance(timedelta(days=31))
    expired = await hooks.client.post(replay, json={"after": cursor}, headers=hooks.auth("ops"))
    assert expired.status_code == 410
    assert expired.json()["code"] == "cursor_expired"

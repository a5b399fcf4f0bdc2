"""Console sessions over HTTP on the whole app: a revoked key ends its sessions within seconds,
the cookie is `Secure` wherever the console is reached over https, forms come from the public
origin, and a malformed form token is a refusal, never a 500."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.schema import api_keys
from entrypoints.http.console.session import COOKIE, KEY_RECHECK_SECONDS
from tests.integration.http.conftest import Api
from tests.integration.http.requests import api_with

PUBLIC = "https://hub.example.com"


async def sign_in(api: Api, who: str = "agent", **headers: str) -> httpx.Response:
    response = await api.client.post("/console/login", data={"key": api.keys[who]}, headers=headers)
    assert response.status_code == 303, response.text
    return response


async def revoke(api: Api, secret: str) -> None:
    """What `orderhub keys revoke` will do: the key's row is marked revoked."""
    principal = await api.container.api_keys().authenticate(secret)
    assert principal is not None
    async with api.container.engine().begin() as conn:
        await conn.execute(
            update(api_keys)
            .where(api_keys.c.id == principal.key_id)
            .values(revoked_at=api.clock.now())
        )


def signed_in(response: httpx.Response) -> bool:
    return response.status_code == 200 and 'name="csrf"' in response.text


async def test_a_revoked_key_ends_its_console_sessions_within_seconds(api: Api) -> None:
    await sign_in(api)
    session = api.client.cookies[COOKIE]
    assert signed_in(await api.client.get("/console/orders", params={"q": "nobody@example.com"}))

    await revoke(api, api.keys["agent"])
    api.clock.advance(timedelta(seconds=KEY_RECHECK_SECONDS + 1))

    searched = await api.client.get("/console/orders", params={"q": "nobody@example.com"})
    assert (searched.status_code, searched.headers["location"]) == (303, "/console")
    assert not signed_in(await api.client.get("/console"))
    # the session is gone on the server too: its id brought back opens nothing
    api.client.cookies.set(COOKIE, session, domain="orderhub.test", path="/console")
    assert not signed_in(await api.client.get("/console"))
    assert (await api.client.get("/console/orders/" + str(uuid.uuid4()))).status_code == 303


async def test_a_key_that_stays_active_keeps_its_session(api: Api) -> None:
    await sign_in(api)
    for _ in range(3):
        api.clock.advance(timedelta(seconds=KEY_RECHECK_SECONDS + 1))
        assert signed_in(await api.client.get("/console"))


def set_cookie(response: httpx.Response) -> str:
    return response.headers["set-cookie"]


async def test_the_cookie_is_secure_over_https_and_not_on_plain_http(
    api: Api, sqlite_engine: AsyncEngine
) -> None:
    plain = set_cookie(await sign_in(api))
    assert not re.search(r";\s*secure", plain, re.IGNORECASE), plain  # `make run` on loopback
    async with api_with(sqlite_engine) as other:
        other.client.base_url = httpx.URL("https://orderhub.test")
        assert re.search(r";\s*secure", set_cookie(await sign_in(other)), re.IGNORECASE)


async def test_the_cookie_is_secure_behind_a_proxy_when_the_public_origin_is_https(
    sqlite_engine: AsyncEngine,
) -> None:
    async with api_with(sqlite_engine, public_origin=PUBLIC) as api:
        # TLS ends at the proxy, which talks plain http to the hub
        cookie = set_cookie(await sign_in(api, Origin=PUBLIC, Host="10.0.0.5:8000"))
        assert re.search(r";\s*secure", cookie, re.IGNORECASE), cookie


async def test_with_a_public_origin_forms_must_come_from_it_whatever_host_says(
    sqlite_engine: AsyncEngine,
) -> None:
    async with api_with(sqlite_engine, public_origin=PUBLIC) as api:
        await sign_in(api, Origin=PUBLIC, Host="10.0.0.5:8000")  # the proxy rewrote Host
        form = {"key": api.keys["agent"]}
        for origin, host in [
            ("https://evil.example.com", "evil.example.com"),  # Origin and Host agree: not enough
            ("http://hub.example.com", "hub.example.com"),  # same host, another scheme
        ]:
            forged = await api.client.post(
                "/console/login", data=form, headers={"Origin": origin, "Host": host}
            )
            assert forged.status_code == 403, (origin, forged.text)


async def test_without_a_public_origin_a_form_must_come_from_the_host_it_was_sent_to(
    api: Api,
) -> None:
    form = {"key": api.keys["agent"]}
    forged = await api.client.post(
        "/console/login", data=form, headers={"Origin": "https://evil.example.com"}
    )
    assert forged.status_code == 403
    await sign_in(api, Origin="http://orderhub.test")


async def test_a_form_token_that_is_not_ascii_is_refused_not_a_500(api: Api) -> None:
    await sign_in(api)
    for token in ("é" * 43, "токен"):
        response = await api.client.post("/console/logout", data={"csrf": token})
        assert response.status_code == 403, response.text
        assert "the form has expired" in response.text
    assert signed_in(await api.client.get("/console"))  # still signed in: nothing was posted

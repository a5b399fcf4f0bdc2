"""Console sessions over HTTP on the whole app: a revoked key ends its sessions within seconds,
the cookie is `Secure` wherever the console is reached over https, forms come from the public
origin, and a malformed form token is a refusal, never a 500."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from entrypoints.http.console.session import COOKIE, KEY_RECHECK_SECONDS
from ports.api_keys import Role
from tests.integration.http.conftest import Api
from tests.integration.http.requests import api_with

PUBLIC = "https://hub.example.com"


async def sign_in(api: Api, who: str = "agent", **headers: str) -> httpx.Response:
    response = await api.client.post("/console/login", data={"key": api.keys[who]}, headers=headers)
    assert response.status_code == 303, response.text
    return response


async def revoke(api: Api, secret: str) -> None:
    """What `orderhub keys revoke` does."""
    principal = await api.container.api_keys().authenticate(secret)
    assert principal is not None
    await api.container.api_keys().revoke(principal.key_id)


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


async def test_a_rotation_ends_the_old_secret_s_sessions_with_its_grace_and_not_the_new_one_s(
    api: Api,
) -> None:
    keys = api.container.api_keys()
    principal = await keys.authenticate(api.keys["agent"])
    assert principal is not None
    await sign_in(api)  # with the secret about to be replaced
    old_session = api.client.cookies[COOKIE]
    _, new = await keys.rotate(principal.key_id, timedelta(seconds=60))
    api.client.cookies.clear()
    api.keys["agent"] = new
    await sign_in(api)
    new_session = api.client.cookies[COOKIE]

    def use(session: str) -> None:
        api.client.cookies.clear()
        api.client.cookies.set(COOKIE, session, domain="orderhub.test", path="/console")

    api.clock.advance(timedelta(seconds=30))  # within the grace: both sessions last
    for session in (old_session, new_session):
        use(session)
        assert signed_in(await api.client.get("/console"))

    api.clock.advance(timedelta(seconds=30 + KEY_RECHECK_SECONDS))  # the grace is over
    use(old_session)
    assert not signed_in(await api.client.get("/console"))
    use(new_session)
    assert signed_in(await api.client.get("/console"))


async def test_an_expired_key_ends_its_sessions(api: Api) -> None:
    _, api.keys["agent"] = await api.container.api_keys().create(
        Role.AGENT, None, "temp", expires_in=timedelta(seconds=60)
    )
    await sign_in(api)
    assert signed_in(await api.client.get("/console"))

    api.clock.advance(timedelta(seconds=60 + KEY_RECHECK_SECONDS))

    assert not signed_in(await api.client.get("/console"))


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

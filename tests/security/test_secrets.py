"""API keys and the Shopify webhook secret never reach a log.

Two views: in-process (every log record at DEBUG, with its extra fields, plus whatever reaches
the process's stdout and stderr), and an `orderhub serve` process started with LOG_LEVEL=DEBUG
whose whole output is read back (uvicorn's access log is off; and see
`test_log_level_debug_takes_effect`: the app's log stays at INFO whatever LOG_LEVEL says). Between them: keys created,
requests with valid, unknown and wrongly-sent keys, refused and failing requests, the console
sign-in form, and signed, tampered and refused Shopify deliveries.

Covered elsewhere and not repeated here (only exercised on the way, as traffic to log):
- a tampered webhook body → 401 `invalid_signature`:
  tests/integration/http/test_shopify_webhook.py::test_a_delivery_whose_body_was_tampered_with_is_refused
  (also ::test_the_signature_is_checked_on_the_bytes_as_sent, ::..._signed_with_another_secret_...);
- a replayed inbound event applies once:
  tests/integration/http/test_order_commands.py::test_the_same_inbound_event_applies_once and
  tests/integration/http/test_inbound_events.py::test_a_delivery_before_its_dispatch_is_kept_and_applied_after_it;
- a redelivered Shopify webhook changes nothing:
  tests/integration/http/test_shopify_webhook.py::test_a_redelivery_with_the_same_webhook_id_changes_nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.shopify_signature import shopify_hmac
from entrypoints.container import build_container
from entrypoints.logs import configure_logging
from entrypoints.settings import Settings
from ports.api_keys import Role, Source
from tests.e2e.processes import free_port, wait_for
from tests.integration.http.conftest import Api
from tests.integration.http.requests import (
    order_body,
    place_order,
    return_body,
    snapshot,
    stock,
)
from tests.security.conftest import SHOPIFY_SECRET
from tests.unit.shopify.payloads import body as shopify_body
from tests.unit.shopify.payloads import shopify_order

ORDERHUB = str(Path(sys.executable).with_name("orderhub"))
WEBHOOK = "/v1/webhooks/shopify/orders-create"


def leaks(text: str, secrets: dict[str, str], *, hashed: bool = False) -> list[str]:
    """The names of the secrets found in `text` (with `hashed`: of their SHA-256, which is what
    the hub stores of a key)."""
    if hashed:
        secrets = {name: hashlib.sha256(secret.encode()).hexdigest() for name, secret in secrets.items()}  # fmt: skip
    return [name for name, secret in secrets.items() if secret in text]


def record_text(records: list[logging.LogRecord]) -> str:
    """Every record's message, arguments, traceback and extra fields, as text."""
    parts = []
    for record in records:
        parts.append(record.getMessage())
        parts.extend(f"{key}={value!r}" for key, value in vars(record).items())
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


def delivery_headers(raw: bytes, signature: str | None = None) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Hmac-Sha256": signature or shopify_hmac(SHOPIFY_SECRET, raw),
    }


async def traffic(client: httpx.AsyncClient, keys: dict[str, str]) -> list[httpx.Response]:
    """Requests of every kind: valid, refused and failing, each carrying key material."""

    def auth(who: str, **more: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {keys[who]}", **more}

    fresh = {"Idempotency-Key": str(uuid.uuid4())}
    sent: list[httpx.Response] = []

    async def send(method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = await client.request(method, url, **kwargs)
        sent.append(response)
        return response

    # valid keys, successful requests
    await send("POST", "/v1/inbound/warehouse", json=snapshot(on_hand=50), headers=auth("system"))
    placed = await send("POST", "/v1/orders", json=order_body(), headers=auth("web", **fresh))
    order_id = placed.json()["id"]
    await send("GET", f"/v1/orders/{order_id}", headers=auth("web"))
    await send("GET", "/v1/orders", params={"channel": "web"}, headers=auth("agent"))
    await send("GET", "/v1/ops/outbox", headers=auth("ops"))
    # valid keys, refused requests
    await send("GET", f"/v1/orders/{order_id}", headers=auth("system"))  # 403
    await send("GET", f"/v1/orders/{order_id}", headers=auth("pos"))  # 404
    await send("POST", "/v1/orders", json={"lines": "x"}, headers=auth("web", **fresh))  # 422
    await send("POST", "/v1/orders", content=b"{not json", headers=auth("web", **fresh))  # 400
    await send("POST", f"/v1/orders/{order_id}/returns", json=return_body(), headers=auth("web"))
    await send("POST", "/v1/orders", json=order_body(), headers=auth("web", **fresh))  # 422 reused
    # keys that do not authenticate: unknown, wrong scheme, no scheme, two keys
    for authorization in (
        f"Bearer {keys['web']}x",
        f"Basic {keys['agent']}",
        keys["ops"],
        f"Bearer {keys['web']} {keys['agent']}",
    ):
        await send("GET", "/v1/orders", headers={"Authorization": authorization})
    # the console's sign-in form takes a key in its body
    await send("POST", "/console/login", data={"key": keys["web"]})  # 403: not a console role
    await send("POST", "/console/login", data={"key": keys["agent"] + "nope"})  # 401
    await send("POST", "/console/login", data={"key": keys["agent"]})  # 303 signed in
    # Shopify deliveries: signed, tampered, signed with another secret, refused payload
    raw = shopify_body(shopify_order())
    await send("POST", WEBHOOK, content=raw, headers=delivery_headers(raw))
    tampered = raw.replace(b'"451.99"', b'"1.00"')
    refused = await send("POST", WEBHOOK, content=tampered, headers=delivery_headers(raw))
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_signature")
    forged = shopify_hmac(SHOPIFY_SECRET + "x", raw)
    await send("POST", WEBHOOK, content=raw, headers=delivery_headers(raw, forged))
    broken = shopify_body({**shopify_order(), "id": 99, "line_items": []})
    await send("POST", WEBHOOK, content=broken, headers=delivery_headers(broken))  # 422, logged
    return sent


async def everything_logged(
    api: Api, caplog: pytest.LogCaptureFixture, *, loggers: tuple[str, ...]
) -> dict[str, str]:
    """Keys created and all the traffic sent with every record captured at DEBUG (the root logger
    and `loggers`); returns the secrets in play."""
    caplog.set_level(logging.DEBUG)
    for name in loggers:
        caplog.set_level(logging.DEBUG, logger=name)
    keys = dict(api.keys)
    for who, role, channel in [("late-channel", Role.CHANNEL, "web"), ("late-ops", Role.OPS, None)]:
        _, keys[who] = await api.container.api_keys().create(role, channel, who)
    await stock(api, on_hand=10)
    await place_order(api, who="web")
    responses = await traffic(api.client, keys)
    for response in responses:  # no answer echoes what it was sent as a credential
        echoed = leaks(response.text + str(response.headers), keys)
        assert echoed == [], (response.request.method, response.request.url, echoed)
    assert len(caplog.records) > 20, "the logs were not captured"
    return {**keys, "shopify webhook secret": SHOPIFY_SECRET}


async def test_no_key_or_webhook_secret_reaches_the_logs_or_an_answer(
    secured: Api, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    # Everything at DEBUG, SQLAlchemy's statement log included (as an operator chasing a problem
    # might turn it on).
    loggers = ("sqlalchemy", "litestar", "httpx", "httpcore", "orderhub", "aiosqlite", "asyncio")
    secrets = await everything_logged(secured, caplog, loggers=loggers)
    out, err = capfd.readouterr()
    assert leaks(record_text(caplog.records), secrets) == []
    assert leaks(caplog.text, secrets) == []
    assert leaks(out + err, secrets) == []


async def test_the_stored_key_hashes_do_not_reach_the_logs_at_debug_level(
    secured: Api, caplog: pytest.LogCaptureFixture
) -> None:
    # Logging set up as every orderhub process does it, with LOG_LEVEL=DEBUG: SQLAlchemy's own
    # statement log stays off (it defaults to WARNING), and so do the drivers'.
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        configure_logging("DEBUG", "JSON")
        secrets = await everything_logged(secured, caplog, loggers=())
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers
    assert leaks(record_text(caplog.records), secrets, hashed=True) == []


# -- the processes as an operator runs them -------------------------------------------------


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ORDERHUB, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def hub_env(tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/hub.db",
        "LOG_LEVEL": "DEBUG",
        "SHOPIFY_WEBHOOK_SECRET": SHOPIFY_SECRET,
    }
    migrated = _run("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    return env


async def test_a_served_hub_at_debug_level_logs_no_key_or_webhook_secret(
    hub_env: dict[str, str], tmp_path: Path
) -> None:
    # One key the operator's way (the CLI prints it once, on its last line: nothing else may
    # carry it); the others straight into the same database, to keep the test short.
    created = _run("keys", "create", "--role", "channel", "--channel", "web", env=hub_env)
    assert created.returncode == 0, created.stderr
    *before, web_key = created.stdout.strip().splitlines()
    creation_output = "\n".join(before) + created.stderr
    keys = {"web": web_key}
    container = build_container(Settings(database_url=hub_env["DATABASE_URL"]))
    try:
        for who, role, channel in [
            ("pos", Role.CHANNEL, "pos"),
            ("agent", Role.AGENT, None),
            ("system", Role.SYSTEM, None),
            ("ops", Role.OPS, None),
        ]:
            sources = frozenset(Source) if role is Role.SYSTEM else frozenset()
            _, keys[who] = await container.api_keys().create(role, channel, who, sources)
    finally:
        await container.engine().dispose()
        await container.read_engine().dispose()

    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [ORDERHUB, "serve", "--port", str(port)],
            env=hub_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _live(url), timeout=60, what="orderhub serve to come up")
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            await traffic(client, keys)
    finally:
        server.terminate()
        server.wait(timeout=20)

    secrets = {**keys, "shopify webhook secret": SHOPIFY_SECRET}
    served = log_path.read_text(errors="replace")
    assert "shopify order" in served, served[-2000:]  # the app's own log lines are there
    assert leaks(creation_output, secrets) == []
    assert leaks(served, secrets) == []


def _live(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/live", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_log_level_debug_takes_effect(monkeypatch: pytest.MonkeyPatch) -> None:
    from entrypoints.asgi import app

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///:memory:")
        monkeypatch.setenv("LOG_LEVEL", "DEBUG")
        app()  # what `orderhub serve` builds in each server process
        assert root.getEffectiveLevel() == logging.DEBUG
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers

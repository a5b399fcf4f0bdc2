"""No configured secret reaches any output, whatever goes wrong (PRODUCT.md §8.8).

Every secret the hub can be given is set to a recognizable value (`s3cr3t-…`), then every way
of failing is provoked: bad settings at the start of `orderhub serve`, `migrate` and `keys
create` (real processes), an unreachable database at `migrate` and `keys create`, a served hub
whose database, broker Redis and rate-limit Redis are all away, and each HTTP remote answering
500 and 401 with a body that echoes back every header and form field it was sent. None of the
values may appear in stdout, stderr, the logs (every record at DEBUG, httpx's included), the
exported spans (in-memory exporter), the errors raised, or an HTTP answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from adapters.http.erp_rest import RestErp
from adapters.http.resilience import RetryPolicy
from adapters.http.salesforce import SalesforceCrm
from adapters.http.shopify import ShopifyCommerce
from adapters.http.stripe import StripePayments
from adapters.shopify_signature import shopify_hmac
from entrypoints.settings import Settings, SettingsError
from ports.commerce import CommerceStatus
from ports.remote import RemoteError
from tests.e2e.processes import free_port, wait_for
from tests.integration.adapters.builders import an_order
from tests.integration.databases import PG_HOST, PG_PORT, PG_USER, postgres_database
from tests.tracing import finished, recording

ORDERHUB = str(Path(sys.executable).with_name("orderhub"))
DEAD = "127.0.0.1:1"  # a loopback port nothing listens on: refused at once

#: Every secret, by name, with the value it is configured with.
SECRETS = {
    "database password": "s3cr3t-database",
    "broker password": "s3cr3t-broker",
    "rate-limit password": "s3cr3t-ratelimit",
    "ERP_API_KEY": "s3cr3t-erp-key",
    "ERP_URL password": "s3cr3t-erp-url",
    "SALESFORCE_CLIENT_SECRET": "s3cr3t-salesforce",
    "CRM_URL password": "s3cr3t-crm-url",
    "SHOPIFY_ACCESS_TOKEN": "s3cr3t-shopify-token",
    "SHOPIFY_WEBHOOK_SECRET": "s3cr3t-shopify-webhook",
    "STRIPE_API_KEY": "sk_test_s3cr3tStripe",
    "OTLP endpoint password": "s3cr3t-otlp",
}
S = SECRETS
#: The hub configured with all of them (its database, Redis and remotes unreachable).
ENV = {
    "DATABASE_URL": f"postgresql+asyncpg://orderhub:{S['database password']}@{DEAD}/orderhub",
    "BROKER_URL": f"redis://:{S['broker password']}@{DEAD}/0",
    "RATE_LIMIT_STORAGE": f"redis://:{S['rate-limit password']}@{DEAD}/1",
    "ERP_URL": f"https://hub:{S['ERP_URL password']}@erp.test",
    "ERP_API_KEY": S["ERP_API_KEY"],
    "CRM_URL": f"https://hub:{S['CRM_URL password']}@crm.test",
    "SALESFORCE_CLIENT_ID": "3MVG9-client-id",
    "SALESFORCE_CLIENT_SECRET": S["SALESFORCE_CLIENT_SECRET"],
    "COMMERCE_URL": "https://shop.test",
    "SHOPIFY_ACCESS_TOKEN": S["SHOPIFY_ACCESS_TOKEN"],
    "SHOPIFY_WEBHOOK_SECRET": S["SHOPIFY_WEBHOOK_SECRET"],
    "PAYMENT_PROVIDER": "stripe",
    "STRIPE_API_KEY": S["STRIPE_API_KEY"],
    "LOG_LEVEL": "DEBUG",
}


def leaks(text: str) -> list[str]:
    """The names of the secrets found in `text`."""
    return [name for name, value in SECRETS.items() if value in text]


# -- the settings --------------------------------------------------------------------------


def test_the_settings_repr_shows_no_secret() -> None:
    settings = Settings.from_env(
        {**ENV, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://otel:{S['OTLP endpoint password']}@{DEAD}"}
    )
    assert settings.erp_api_key == S["ERP_API_KEY"]  # configured, only not shown
    assert leaks(repr(settings) + str(settings)) == []
    assert "postgresql+asyncpg://orderhub:***@127.0.0.1:1/orderhub" in repr(settings)


#: A malformed value of each URL setting, password included.
BAD_URLS = {
    "DATABASE_URL": f"postgres://orderhub:{S['database password']}@db.internal/orderhub",
    "BROKER_URL": f"redis://:{S['broker password']}@redis.internal:six-three-seven-nine/0",
    "RATE_LIMIT_STORAGE": f"redis://:{S['rate-limit password']}@redis.internal:notaport/1",
    "ERP_URL": f"https://hub:{S['ERP_URL password']}@[erp.internal/api",
    "CRM_URL": f"https://hub:{S['CRM_URL password']}@crm.internal:x",
    "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://otel:{S['OTLP endpoint password']}@otel:port",
}


@pytest.mark.parametrize("variable", BAD_URLS)
def test_a_malformed_url_is_refused_at_start_naming_it_without_its_password(variable: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**ENV, variable: BAD_URLS[variable]})
    assert variable in str(refused.value)
    assert ":***@" in str(refused.value)
    assert leaks(str(refused.value)) == []


# -- the processes as an operator runs them ---------------------------------------------------


def run_all(runs: dict[str, tuple[list[str], dict[str, str]]]) -> dict[str, tuple[int, str]]:
    """Each `orderhub` command with its environment, all at once; exit code and all output."""
    started = {
        name: subprocess.Popen(
            [ORDERHUB, *args],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, (args, env) in runs.items()
    }
    return {name: (p.wait(timeout=90), p.communicate()[0]) for name, p in started.items()}


def test_no_command_shows_a_secret_for_bad_settings_or_an_unreachable_database() -> None:
    keys_create = ["keys", "create", "--role", "agent"]
    outcomes = run_all(
        {
            "serve, bad DATABASE_URL": (["serve"], {**ENV, "DATABASE_URL": BAD_URLS["DATABASE_URL"]}),
            "migrate, bad BROKER_URL": (["migrate"], {**ENV, "BROKER_URL": BAD_URLS["BROKER_URL"]}),
            "keys create, bad RATE_LIMIT_STORAGE": (
                keys_create, {**ENV, "RATE_LIMIT_STORAGE": BAD_URLS["RATE_LIMIT_STORAGE"]},
            ),
            "migrate, database away": (["migrate"], ENV),
            "keys create, database away": (keys_create, ENV),
            "serve, database away": (["serve", "--port", str(free_port())], ENV),
        }
    )  # fmt: skip
    for what, (code, output) in outcomes.items():
        assert code != 0, (what, output)
        assert leaks(output) == [], (what, output)
        if "bad" in what:
            assert code == 2
            assert f"configuration error: {what.split('bad ')[1]}" in output, (what, output)
        else:
            assert "cannot reach the database" in output, (what, output)
            assert "Traceback" not in output, (what, output)


def test_a_served_hub_whose_database_went_away_with_both_redis_away_shows_no_secret(
    tmp_path: Path,
) -> None:
    """`serve` refuses to start without its database (one line, tested above and in
    tests/e2e/test_first_day_failures.py), so the database goes away once it is serving: a
    database of its own, dropped under it. Trust authentication ignores the password."""
    port = free_port()
    log_path = tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    answers: list[httpx.Response] = []
    with postgres_database() as database:
        name = database.rsplit("/", 1)[1]
        with_password = (
            f"postgresql+asyncpg://{PG_USER}:{S['database password']}@{PG_HOST}:{PG_PORT}/{name}"
        )
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [ORDERHUB, "serve", "--port", str(port)],
                env={**os.environ, **ENV, "DATABASE_URL": with_password},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for(lambda: _answers(url), timeout=60, what="orderhub serve to come up")
            asyncio.run(_drop(name))
            raw = json.dumps({"id": 1}).encode()
            signed = shopify_hmac(S["SHOPIFY_WEBHOOK_SECRET"], raw)
            with httpx.Client(base_url=url, timeout=30) as client:
                answers += [
                    client.get("/health/ready"),
                    client.get("/v1/orders", headers={"Authorization": "Bearer ohk_unknown"}),
                    client.post("/console/login", data={"key": "ohk_unknown"}),
                    client.post(
                        "/v1/webhooks/shopify/orders-create",
                        content=raw,
                        headers={
                            "X-Shopify-Hmac-Sha256": signed,
                            "Content-Type": "application/json",
                        },
                    ),
                    client.get("/metrics"),
                ]
        finally:
            server.terminate()
            server.wait(timeout=20)
    output = log_path.read_text(errors="replace")
    assert "database" in output.lower(), output[-3000:]  # the failures were logged
    assert {a.status_code for a in answers} & {503, 500}, [a.status_code for a in answers]
    for answer in answers:
        assert leaks(answer.text + str(answer.headers)) == [], (answer.url, answer.text)
    assert leaks(output) == [], output[-3000:]


async def _drop(name: str) -> None:
    admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _answers(url: str) -> bool:
    try:
        httpx.get(f"{url}/health/live", timeout=1)
    except httpx.HTTPError:
        return False
    return True


# -- remote systems refusing, and echoing what they were sent ---------------------------------


def echoing(status: int) -> httpx.MockTransport:
    """A remote system that answers `status` with everything it was sent: headers, URL, body."""

    def answer(request: httpx.Request) -> httpx.Response:
        echoed = {
            "headers": dict(request.headers),
            "url": str(request.url),
            "body": request.content.decode(errors="replace"),
        }
        return httpx.Response(status, json={"error": "no", "echo": echoed})

    return httpx.MockTransport(answer)


ONCE = RetryPolicy(attempts=1)
Call = Callable[[httpx.MockTransport], Awaitable[Any]]


async def _erp(transport: httpx.MockTransport) -> Any:
    erp = RestErp(
        base_url=ENV["ERP_URL"], api_key=S["ERP_API_KEY"], retry=ONCE, transport=transport
    )
    return await erp.submit_order(an_order("SKU-1"))


async def _crm(transport: httpx.MockTransport) -> Any:
    crm = SalesforceCrm(
        login_url=ENV["CRM_URL"],
        client_id=ENV["SALESFORCE_CLIENT_ID"],
        client_secret=S["SALESFORCE_CLIENT_SECRET"],
        retry=ONCE,
        transport=transport,
    )
    return await crm.open_case("subject", "description", "ext-1")


async def _commerce(transport: httpx.MockTransport) -> Any:
    shop = ShopifyCommerce(
        shop_url=ENV["COMMERCE_URL"],
        access_token=S["SHOPIFY_ACCESS_TOKEN"],
        retry=ONCE,
        transport=transport,
    )
    update = CommerceStatus(
        channel="shopify", channel_order_ref="5612345678901", status="cancelled"
    )
    return await shop.push_status(update, "evt-1:commerce")


async def _payment(transport: httpx.MockTransport) -> Any:
    stripe = StripePayments(api_key=S["STRIPE_API_KEY"], retry=ONCE, transport=transport)
    return await stripe.capture("pi_3Secret", Decimal("10.00"), "EUR", "capture:1")


REMOTES: dict[str, Call] = {"ERP": _erp, "CRM": _crm, "commerce": _commerce, "payment": _payment}


@pytest.mark.parametrize("status", [500, 401])
@pytest.mark.parametrize("remote", REMOTES)
async def test_a_remote_that_refuses_and_echoes_its_request_shows_no_secret(
    remote: str, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "orderhub"):
        caplog.set_level(logging.DEBUG, logger=name)
    recording()
    with pytest.raises(RemoteError) as failed:
        await REMOTES[remote](echoing(status))
    errors, cause = [], failed.value
    while cause is not None:  # the error and every error it was raised from
        errors.append(f"{type(cause).__name__}: {cause}")
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    logged = "\n".join(f"{r.getMessage()} {vars(r)!r}" for r in caplog.records)
    exported = finished()
    assert exported, "no span was recorded"
    span_text = "\n".join(repr(dict(s.attributes or {})) + s.name for s in exported)
    assert leaks("\n".join(errors)) == [], errors
    assert leaks(logged) == [], logged
    assert leaks(span_text) == [], span_text

"""Two `orderhub serve` processes on one PostgreSQL and one Redis, as production runs them
(PRODUCT.md §8.7): a key revoked or rotated with the real CLI is seen by both within 5 s, a
console session opened on one works on the other and ends on both, and failed authentications
are counted across both. Each wait is bounded and polls; the times measured are printed."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from entrypoints.http.console.session import COOKIE
from tests.e2e.processes import ORDERHUB, Hub
from tests.integration.databases import postgres_database
from tests.redis_db import emptied

#: The Redis database these tests keep to themselves: the broker's, so that sessions and rate
#: limits follow it there (RATE_LIMIT_STORAGE unset).
REDIS = "redis://127.0.0.1:6379/1"
#: PRODUCT.md §8.7: a revoked key is refused by every API process within this.
WITHIN = 5.0
#: Low enough to reach in a test, high enough that the other tests' few refusals never do.
AUTH_FAILURE_LIMIT = 12


class TwoApis:
    def __init__(self, hub: Hub, urls: list[str]) -> None:
        self.hub = hub
        self.clients = [httpx.Client(base_url=url, timeout=5) for url in urls]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [ORDERHUB, *args], env=self.hub.env, capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done

    def key(self, role: str) -> tuple[str, str]:
        """(id, secret) of a new key."""
        secret = self.hub.key(role)
        listed = json.loads(self.cli("keys", "list", "--json").stdout)
        return str(listed[-1]["id"]), secret

    def status(self, client: httpx.Client, secret: str) -> int:
        response = client.get("/v1/inventory/MUG-1", headers={"Authorization": f"Bearer {secret}"})
        return response.status_code


@pytest.fixture(scope="module")
def apis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoApis]:
    with emptied(REDIS), postgres_database() as url:
        hub = Hub(
            url, REDIS, tmp_path_factory.mktemp("apis"),
            AUTH_FAILURE_LIMIT=f"{AUTH_FAILURE_LIMIT}/minute",
        )  # fmt: skip
        try:
            yield TwoApis(hub, hub.serve("api-1", "api-2"))
        finally:
            hub.close()
            for name in ("api-1", "api-2"):
                assert "Traceback" not in hub.log(name), hub.log(name)


@pytest.fixture
def fresh_limits(apis: TwoApis) -> Iterator[TwoApis]:
    """Each test starts with no session and no counted failure in Redis."""
    with emptied(REDIS):
        yield apis


def until_each(
    clients: list[httpx.Client], done: Callable[[httpx.Client], bool], deadline: float
) -> list[float]:
    """Poll every client until `done` says so for it, all until `deadline` (monotonic); the
    monotonic time at which each was first seen done."""
    seen: dict[int, float] = {}
    while len(seen) < len(clients) and time.monotonic() < deadline:
        for i, client in enumerate(clients):
            if i not in seen and done(client):
                seen[i] = time.monotonic()
        time.sleep(0.05)
    assert len(seen) == len(clients), f"only {sorted(seen)} of {len(clients)} in time"
    return [seen[i] for i in range(len(clients))]


@contextmanager
def busy(apis: TwoApis, secret: str) -> Iterator[None]:
    """Requests with `secret` to every process, one after another, until the block ends."""
    stop = threading.Event()

    def traffic() -> None:
        clients = [httpx.Client(base_url=c.base_url, timeout=5) for c in apis.clients]
        while not stop.is_set():
            for client in clients:
                apis.status(client, secret)
            time.sleep(0.05)
        for client in clients:
            client.close()

    thread = threading.Thread(target=traffic, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def test_a_revoked_key_is_refused_by_both_api_processes_within_5_s(
    fresh_limits: TwoApis,
) -> None:
    apis = fresh_limits
    key_id, secret = apis.key("agent")
    assert [apis.status(c, secret) for c in apis.clients] == [200, 200]  # and cached on both

    with busy(apis, secret):  # traffic with the key until the CLI returns: caches stay fresh
        apis.cli("keys", "revoke", key_id)
    returned = time.monotonic()

    refused = until_each(apis.clients, lambda c: apis.status(c, secret) == 401, returned + WITHIN)
    print(
        "revoked key refused after "
        + ", ".join(f"{t - returned:.2f} s" for t in refused)
        + " (api-1, api-2; from the CLI's return)"
    )


def test_a_rotated_key_s_new_secret_works_at_once_and_the_old_one_until_its_grace_ends(
    fresh_limits: TwoApis,
) -> None:
    apis = fresh_limits
    key_id, old = apis.key("agent")
    assert [apis.status(c, old) for c in apis.clients] == [200, 200]
    grace = 6
    asked = time.monotonic()  # the grace starts after this, when the CLI commits

    new = apis.cli("keys", "rotate", key_id, "--grace", str(grace)).stdout.splitlines()[-1]
    returned = time.monotonic()

    assert [apis.status(c, new) for c in apis.clients] == [200, 200]

    def refused(client: httpx.Client) -> bool:
        status = apis.status(client, old)
        if time.monotonic() < asked + grace:  # surely within the grace
            assert status == 200, "the old secret was refused during its grace"
        return status == 401

    ended = until_each(apis.clients, refused, returned + grace + WITHIN)
    print(
        f"old secret (grace {grace} s) refused after "
        + ", ".join(f"{t - returned:.2f} s" for t in ended)
        + " (api-1, api-2; from the CLI's return)"
    )
    assert [apis.status(c, new) for c in apis.clients] == [200, 200]


def page(client: httpx.Client, session: str) -> str:
    response = client.get("/console", headers={"Cookie": f"{COOKIE}={session}"})
    assert response.status_code == 200, response.text
    return response.text


def signed_in(client: httpx.Client, session: str) -> bool:
    return 'name="csrf"' in page(client, session)


def sign_in(client: httpx.Client, secret: str) -> str:
    response = client.post("/console/login", data={"key": secret})
    assert response.status_code == 303, response.text
    return response.cookies[COOKIE]


def test_a_console_session_from_one_process_works_on_the_other_and_ends_on_both(
    fresh_limits: TwoApis,
) -> None:
    apis = fresh_limits
    first, second = apis.clients
    key_id, secret = apis.key("agent")

    session = sign_in(first, secret)
    assert signed_in(second, session)
    csrf = page(second, session).split('name="csrf" value="', 1)[1].split('"', 1)[0]
    out = second.post(
        "/console/logout", data={"csrf": csrf}, headers={"Cookie": f"{COOKIE}={session}"}
    )
    assert out.status_code == 303, out.text
    assert not signed_in(first, session)
    assert not signed_in(second, session)

    session = sign_in(second, secret)
    assert signed_in(first, session)
    apis.cli("keys", "revoke", key_id)
    returned = time.monotonic()
    ended = until_each(apis.clients, lambda c: not signed_in(c, session), returned + WITHIN)
    print(
        "console session of a revoked key ended after "
        + ", ".join(f"{t - returned:.2f} s" for t in ended)
        + " (api-1, api-2; from the CLI's return)"
    )


def test_failed_authentications_are_counted_across_both_processes(
    fresh_limits: TwoApis,
) -> None:
    apis = fresh_limits
    statuses = [
        apis.status(apis.clients[n % 2], f"ohk_made-up-{n}") for n in range(AUTH_FAILURE_LIMIT + 2)
    ]
    # Each process alone saw half of them, under the limit: only a count they share reaches it.
    assert statuses == [401] * AUTH_FAILURE_LIMIT + [429, 429]

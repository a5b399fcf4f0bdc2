"""The fault suite's stack: a throwaway PostgreSQL database, a Redis database of its own, the REST
ERP and Stripe served from the test process, and real `orderhub serve`, `relay` and `worker` processes that a
scenario may kill and replace. Run with `make test-faults` (excluded from `make test`)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from adapters.clock import SystemClock
from adapters.sql.api_keys import SqlApiKeys
from adapters.sql.engine import create_engine
from ports.api_keys import Role, Source
from tests.e2e.processes import Hub, free_port, wait_for
from tests.faults.erp import ERP_KEY, ControllableErp
from tests.faults.load import LOCATION, SKUS
from tests.faults.reconcile import REPORT
from tests.faults.round_robin import RoundRobin
from tests.faults.stripe import ControllableStripe, stripe_settings
from tests.integration.adapters.live_server import live_server
from tests.integration.databases import postgres_database

#: The broker's Redis database (the e2e tests use 10 and 11, the benchmarks 8); flushed per scenario.
BROKER_URL = os.environ.get("ORDERHUB_FAULTS_BROKER_URL", "redis://127.0.0.1:6379/12")


@dataclass(frozen=True)
class Topology:
    """How many of each process a stack runs."""

    apis: int = 1
    relays: int = 1
    workers: int = 1


@dataclass(frozen=True)
class Keys:
    web: str
    system: str
    agent: str
    ops: str


class Stack:
    """One hub under test. Process names are unique (`worker-1`, `worker-2`, …) so that a killed
    process keeps its log and a replacement gets its own."""

    def __init__(
        self, hub: Hub, db_url: str, keys: Keys, erp: ControllableErp, stripe: ControllableStripe
    ) -> None:
        self.hub = hub
        self.db_url = db_url
        self.keys = keys
        self.erp = erp
        self.stripe = stripe
        self.url = hub.url  #: the API, or the balancer in front of several
        self.api_urls = [hub.url]
        self.balancer: RoundRobin | None = None
        self._started: dict[str, int] = {}

    # -- processes ---------------------------------------------------------------------------

    def start(self, kind: str, *args: str) -> str:
        self._started[kind] = self._started.get(kind, 0) + 1
        name = f"{kind}-{self._started[kind]}"
        self.hub.start(name, *args)
        return name

    def start_api(self, port: int | None = None) -> str:
        return self.start("api", "serve", "--port", str(port or self.hub.port))

    def start_relay(self) -> str:
        return self.start("relay", "relay")

    def start_worker(self, threads: int = 4) -> str:
        return self.start("worker", "worker", "--threads", str(threads))

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown handler runs, in-flight work is cut where it stands."""
        process = self.hub.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def pause(self, name: str) -> None:
        self.hub.processes[name].send_signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self.hub.processes[name].send_signal(signal.SIGCONT)

    def running(self) -> list[str]:
        return [n for n, p in self.hub.processes.items() if p.poll() is None]

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{self.hub.log(n)[-3000:]}" for n in self.hub.processes)

    def tracebacks(self) -> dict[str, int]:
        counts = {n: self.hub.log(n).count("Traceback") for n in self.hub.processes}
        return {n: c for n, c in counts.items() if c}

    # -- HTTP ----------------------------------------------------------------------------------

    def client(self, key: str, timeout: float = 5.0) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, timeout=timeout, headers={"Authorization": f"Bearer {key}"}
        )

    def inbound(
        self,
        source: str,
        event_id: str,
        event_type: str,
        data: dict[str, Any],
        occurred_at: str = "2026-11-23T10:00:00Z",
    ) -> httpx.Response:
        body = {"event_id": event_id, "type": event_type, "occurred_at": occurred_at, "data": data}
        with self.client(self.keys.system) as api:
            return api.post(f"/v1/inbound/{source}", json=body)

    def stock(self, on_hand: int) -> None:
        for sku in SKUS:
            answer = self.inbound("warehouse", f"snap-{sku}", "stock.snapshot",
                                  {"sku": sku, "location": LOCATION, "on_hand": on_hand, "sequence": 1})  # fmt: skip
            assert answer.status_code == 200, answer.text


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _create_keys(db_url: str) -> Keys:
    """The keys, created in this process through the same code as `orderhub keys create` (one
    CLI start costs ~3 s on the 2-core machine, four per scenario would cost more than a fault)."""

    async def create() -> Keys:
        engine = create_engine(db_url, pool_size=1)
        try:
            store = SqlApiKeys(engine, SystemClock())
            made: dict[str, str] = {}
            for name, role, channel in (
                ("web", Role.CHANNEL, "web"),
                ("system", Role.SYSTEM, None),
                ("agent", Role.AGENT, None),
                ("ops", Role.OPS, None),
            ):
                sources = frozenset(Source) if role is Role.SYSTEM else frozenset()
                _, made[name] = await store.create(role, channel, "faults", sources)
            return Keys(**made)
        finally:
            await engine.dispose()

    return asyncio.run(create())


StackFactory = Callable[..., Stack]


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[StackFactory]:
    """`make_stack(**env)`: a migrated database of its own, the ERP, Stripe, four keys, stock, and
    one API, relay and worker (4 threads) started and ready; `env` overrides the processes'
    environment (tests.e2e.processes.Hub sets ERP_GRACE_SECONDS=1, DELIVERY_TIMEOUT_SECONDS=5).
    With `stripe_payments=True` payments go to the fake Stripe (`stack.stripe`), otherwise to the
    simulated back office's provider. `topology=Topology(apis=2, relays=2, workers=2)` runs the
    production topology: several API processes behind a round-robin balancer (`stack.url`,
    `stack.balancer`), several relays and workers. Everything is stopped and dropped afterwards."""
    broker = redis.Redis.from_url(BROKER_URL)
    broker.flushdb()
    erp = ControllableErp()
    stripe = ControllableStripe()
    hubs: list[Hub] = []
    with (
        postgres_database() as db_url,
        live_server(erp) as erp_url,
        live_server(stripe) as stripe_url,
        ExitStack() as balancers,
    ):
        keys = _create_keys(db_url)

        def make(
            on_hand: int = 100_000,
            stripe_payments: bool = False,
            topology: Topology = Topology(),
            **env: str,
        ) -> Stack:
            settings = {"ERP_URL": erp_url, "ERP_API_KEY": ERP_KEY, "DB_POOL_SIZE": "10",
                        **(stripe_settings(stripe_url) if stripe_payments else {}), **env}  # fmt: skip
            hub = Hub(db_url, BROKER_URL, tmp_path, **settings)
            hubs.append(hub)
            stack = Stack(hub, db_url, keys, erp, stripe)
            ports = [hub.port] + [free_port() for _ in range(topology.apis - 1)]
            for port in ports:
                stack.start_api(port)
            for _ in range(topology.relays):
                stack.start_relay()
            for _ in range(topology.workers):
                stack.start_worker()
            stack.api_urls = [f"http://127.0.0.1:{port}" for port in ports]
            for url in stack.api_urls:
                wait_for(partial(ready, url), timeout=60, what=f"the API at {url} to come up")
            if topology.apis > 1:
                stack.balancer = RoundRobin(stack.api_urls)
                stack.url = balancers.enter_context(live_server(stack.balancer))
            stack.stock(on_hand)
            return stack

        try:
            yield make
        finally:
            erp.release()
            stripe.release()
            for hub in hubs:
                hub.close()
            broker.flushdb()
            broker.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if REPORT:
        terminalreporter.section("fault scenarios")
        for line in sorted(REPORT):  # by scenario number
            terminalreporter.write_line(line)

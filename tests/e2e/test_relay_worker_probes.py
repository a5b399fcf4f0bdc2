"""`orderhub relay --health-port` and `orderhub worker --health-port` on real processes over
PostgreSQL and Redis: live and ready while they work, their own metrics moving as an order goes
through them (never the hub's state, which the API serves), and not ready, naming the database,
while their database refuses connections, then ready again once it takes them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import Hub, free_port, wait_for
from tests.integration.databases import _admin, postgres_database
from tests.redis_db import emptied

BROKER = "redis://127.0.0.1:6379/3"
ALL_OK = {"status": "ok", "checks": {"database": "ok", "schema": "ok", "broker": "ok"}}


class Probed:
    """The hub's processes, the relay and the worker each with its probes' port."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.relay = f"http://127.0.0.1:{free_port()}"
        self.worker = f"http://127.0.0.1:{free_port()}"

    def start(self) -> None:
        hub = self.hub
        hub.start("api", "serve", "--port", str(hub.port))
        hub.start("relay", "relay", "--health-port", self.relay.rsplit(":", 1)[1])
        hub.start(
            "worker", "worker", "--threads", "2", "--health-port", self.worker.rsplit(":", 1)[1]
        )  # fmt: skip
        for url in (hub.url, self.relay, self.worker):
            wait_for(lambda url=url: answer(url, "/health/ready") == 200, 60, f"{url} ready")


def answer(base: str, path: str) -> int | None:
    try:
        return httpx.get(base + path, timeout=5).status_code
    except httpx.HTTPError:
        return None


def sample(base: str, name: str, labels: str = "") -> float:
    """The sum of the samples of `name` whose labels contain `labels`."""
    body = httpx.get(f"{base}/metrics", timeout=5).text
    pattern = rf"^{re.escape(name)}(\{{[^}}]*\}})? (\S+)$"
    return sum(
        float(m.group(2))
        for m in re.finditer(pattern, body, re.MULTILINE)
        if labels in (m.group(1) or "")
    )


@pytest.fixture
def probed(tmp_path: Path) -> Iterator[Probed]:
    with emptied(BROKER), postgres_database() as url:
        hub = Hub(url, BROKER, tmp_path)
        try:
            yield Probed(hub)
        finally:
            hub.close()


def test_the_relay_and_the_worker_answer_their_probes_and_count_an_order(
    probed: Probed,
) -> None:
    hub = probed.hub
    system, web = hub.key("system"), hub.key("channel", "web")
    probed.start()
    api = httpx.Client(base_url=hub.url, timeout=10)

    for base in (probed.relay, probed.worker):
        assert httpx.get(f"{base}/health/live", timeout=5).status_code == 200
        assert httpx.get(f"{base}/health/ready", timeout=5).json() == ALL_OK
    snapshot = api.post("/v1/inbound/warehouse", headers={"Authorization": f"Bearer {system}"}, json={
        "event_id": "wh-1", "type": "stock.snapshot", "occurred_at": "2026-12-08T10:00:00Z",
        "data": {"sku": "MUG-1", "location": "dc-east", "on_hand": 5, "sequence": 1},
    })  # fmt: skip
    assert snapshot.status_code == 200, snapshot.text
    placed = api.post("/v1/orders", headers={"Authorization": f"Bearer {web}", "Idempotency-Key": "probe-1"}, json={
        "channel_order_ref": "PROBE-1", "customer": {"email": "ann@example.com", "name": "Ann Lee"},
        "shipping_address": {"name": "Ann Lee", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "currency": "EUR", "lines": [{"sku": "MUG-1", "quantity": 2, "unit_price": "12.50"}],
        "payment": {"reference": "pay-probe-1", "amount": "25.00"},
    })  # fmt: skip
    assert placed.status_code == 201, placed.text

    # The stock event and the order's two events, at least, relayed and handled.
    wait_for(lambda: sample(probed.relay, "orderhub_relay_events_total") >= 3, 60, "relayed events")
    wait_for(
        lambda: sample(probed.worker, "orderhub_consumer_messages_total", 'outcome="done"') >= 3,
        60,
        "messages handled by the worker",
    )
    assert sample(probed.relay, "orderhub_relay_batches_total") >= 1
    assert sample(probed.worker, "orderhub_consumer_handling_seconds_count") >= 3
    assert sample(probed.worker, "orderhub_db_pool_size", 'engine="write"') == 20
    relay_metrics = httpx.get(f"{probed.relay}/metrics", timeout=5).text
    assert "orderhub_db_pool_connections_in_use" in relay_metrics
    # The hub's state comes from the API processes only: a relay's or a worker's would be the
    # same figure once more.
    assert "orderhub_outbox_lag_seconds" not in relay_metrics
    assert "orderhub_dead_letters" not in httpx.get(f"{probed.worker}/metrics", timeout=5).text
    assert "orderhub_outbox_lag_seconds" in api.get("/metrics").text


def test_a_database_that_refuses_connections_makes_them_unready_not_dead(
    probed: Probed,
) -> None:
    probed.start()
    database = probed.hub.env["DATABASE_URL"].rsplit("/", 1)[1]

    asyncio.run(_admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false'))
    try:
        asyncio.run(
            _admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{database}'"
            )
        )
        for base in (probed.relay, probed.worker):
            down = wait_for(
                lambda base=base: (
                    (r := httpx.get(f"{base}/health/ready", timeout=15)).status_code == 503
                    and r.json()
                ),
                60,
                f"{base} unready",
            )
            assert down["checks"]["database"].startswith("unavailable: ")
            assert database not in str(down)  # the kind of failure, never the address
            assert httpx.get(f"{base}/health/live", timeout=5).status_code == 200
    finally:
        asyncio.run(_admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'))
    for base in (probed.relay, probed.worker):
        wait_for(
            lambda base=base: httpx.get(f"{base}/health/ready", timeout=15).json() == ALL_OK,
            60,
            f"{base} ready again",
        )

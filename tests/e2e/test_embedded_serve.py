"""`orderhub migrate && orderhub serve` on the embedded defaults, as the quickstart runs them: the
relay and the workers run in the API's process, so an order placed with the API gets booked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import ORDERHUB, free_port, wait_for

ORDER = {
    "channel_order_ref": "WEB-1001",
    "customer": {"email": "ann@example.com", "name": "Ann Lee"},
    "shipping_address": {
        "name": "Ann Lee", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115",
        "country": "DE",
    },
    "currency": "EUR",
    "lines": [{"sku": "MUG-1", "quantity": 3, "unit_price": "12.50"}],
    "payment": {"reference": "pay_8x2", "amount": "37.50"},
}  # fmt: skip


def orderhub(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [ORDERHUB, *args], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


class Served:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [ORDERHUB, "serve", "--port", str(self.port)],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def first_line(self) -> dict[str, str]:
        lines = self.log.read_text().splitlines()
        return json.loads(lines[0]) if lines else {}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("BROKER_URL", "LOG_FORMAT")}
    return {**environment, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/hub.db"}


@pytest.fixture
def served(env: dict[str, str], tmp_path: Path) -> Iterator[Served]:
    orderhub("migrate", env=env)
    server = Served(env, tmp_path / "serve.log")
    try:
        wait_for(lambda: _up(server.url), timeout=60, what="the API to come up")
        yield server
    finally:
        server.stop()


def test_an_order_placed_through_serve_on_the_embedded_defaults_gets_booked(
    served: Served, env: dict[str, str]
) -> None:
    web = orderhub("keys", "create", "--role", "channel", "--channel", "web", env=env)
    warehouse = orderhub("keys", "create", "--role", "system", "--source", "warehouse", env=env)
    web_key, system_key = web.splitlines()[-1], warehouse.splitlines()[-1]
    stocked = httpx.post(
        f"{served.url}/v1/inbound/warehouse",
        headers={"Authorization": f"Bearer {system_key}"},
        json={
            "event_id": "wh-1", "type": "stock.snapshot", "occurred_at": "2026-11-23T09:00:00Z",
            "data": {"sku": "MUG-1", "location": "dc-east", "on_hand": 10, "sequence": 1},
        },
    )  # fmt: skip
    assert stocked.status_code == 200, stocked.text
    placed = httpx.post(
        f"{served.url}/v1/orders",
        headers={"Authorization": f"Bearer {web_key}", "Idempotency-Key": "web-1001"},
        json=ORDER,
    )
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "reserved"
    order_url = f"{served.url}/v1/orders/{placed.json()['id']}"

    def booked() -> dict[str, str] | None:
        order = httpx.get(order_url, headers={"Authorization": f"Bearer {web_key}"}).json()
        return order if order["status"] == "booked" else None

    order = wait_for(booked, timeout=20, what="the order to be booked")
    assert order["erp_order_ref"]
    first = served.first_line()
    assert first["process"] == "serve"
    assert "embedded" in first["event"], first


def test_serve_says_on_its_first_line_where_it_listens_and_what_it_uses(
    served: Served,
) -> None:
    first = served.first_line()
    assert f"http://127.0.0.1:{served.port}" in first["event"]
    assert "database sqlite+aiosqlite:///" in first["event"]
    assert "broker memory://" in first["event"]


def test_with_a_real_broker_serve_is_an_api_process_only(
    env: dict[str, str], tmp_path: Path
) -> None:
    password = "broker-pw-12345"
    env = {**env, "BROKER_URL": f"redis://:{password}@127.0.0.1:6379/7"}
    orderhub("migrate", env=env)
    server = Served(env, tmp_path / "serve.log")
    try:
        wait_for(lambda: _up(server.url), timeout=60, what="the API to come up")
        first = server.first_line()
    finally:
        server.stop()
    assert "API only" in first["event"], first
    assert password not in server.log.read_text()
    assert "dramatiq" not in server.log.read_text(), "no worker runs in an API-only serve"

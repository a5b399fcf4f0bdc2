"""docs/examples/channel_client.py works against a real `orderhub serve`, as a channel runs it."""

from __future__ import annotations

import importlib.util
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.e2e.processes import ORDERHUB, Hub, wait_for
from tests.integration.http.requests import SKU, order_body, snapshot

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "channel_client.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("channel_client", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


client_example = _example()


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, str]]:
    """`orderhub serve` on its embedded defaults (a SQLite file, the in-process broker), stocked."""
    directory = tmp_path_factory.mktemp("channel-client")
    running = Hub(f"sqlite+aiosqlite:///{directory}/hub.db", "memory://", directory)
    try:
        subprocess.run([ORDERHUB, "migrate"], env=running.env, check=True, timeout=120)
        channel, system = running.key("channel", "web"), running.key("system")
        running.start("api", "serve", "--port", str(running.port))
        wait_for(lambda: _up(running.url), timeout=60, what="orderhub serve to come up")
        stocked = httpx.post(
            f"{running.url}/v1/inbound/warehouse",
            json=snapshot(on_hand=100),
            headers={"Authorization": f"Bearer {system}"},
        )
        assert stocked.status_code == 200, stocked.text
        yield running, channel
    finally:
        running.close()


def _order() -> dict[str, Any]:
    body = order_body()
    body.pop("channel", None)
    return body


def test_an_order_placed_twice_with_one_key_is_one_order(hub: tuple[Hub, str]) -> None:
    running, key = hub
    client = client_example.Orderhub(running.url, key)
    try:
        order, idempotency_key = _order(), str(uuid.uuid4())
        first = client.place_order(order, idempotency_key)
        again = client.place_order(order, idempotency_key)  # a retry after a lost answer
        assert again["id"] == first["id"]
        assert first["status"] == "reserved"
    finally:
        client.close()


def test_an_amendment_on_a_stale_etag_is_refused_as_a_problem(hub: tuple[Hub, str]) -> None:
    running, key = hub
    client = client_example.Orderhub(running.url, key)
    try:
        placed = client.place_order(_order(), str(uuid.uuid4()))
        read, etag = client.get_order(placed["id"])
        assert etag == f'"{read["version"]}"'
        reduce = {"lines": [{"sku": SKU, "quantity": 1}]}
        stale = f'"{read["version"] - 1}"'  # a version the order had before this read
        with pytest.raises(client_example.Problem) as refused:
            client.amend_order(placed["id"], reduce, stale, str(uuid.uuid4()))
        assert (refused.value.status, refused.value.code) == (412, "version_mismatch")
        amended, new_etag = client.amend_current(placed["id"], reduce)
        assert amended["lines"][0]["quantity"] == 1
        assert new_etag == f'"{amended["version"]}"'
        assert amended["version"] > read["version"]
    finally:
        client.close()


def test_a_field_refusal_names_its_field(hub: tuple[Hub, str]) -> None:
    running, key = hub
    client = client_example.Orderhub(running.url, key)
    try:
        bad = {**_order(), "lines": [{"sku": SKU, "quantity": 0, "unit_price": "19.99"}]}
        with pytest.raises(client_example.Problem) as refused:
            client.place_order(bad, str(uuid.uuid4()))
        assert (refused.value.status, refused.value.code) == (422, "validation_error")
        assert [e["field"] for e in refused.value.errors] == ["lines[0].quantity"]
    finally:
        client.close()


def test_following_the_feed_resumes_from_the_kept_cursor(hub: tuple[Hub, str]) -> None:
    running, key = hub
    client = client_example.Orderhub(running.url, key)
    try:
        placed = client.place_order(_order(), str(uuid.uuid4()))
        seen = list(client.follow(None))
        mine = [e for e, _ in seen if e["aggregate_id"] == placed["id"]]
        assert [e["event_type"] for e in mine][:1] == ["OrderPlaced"]
        kept = seen[-1][1]
        later = client.place_order(_order(), str(uuid.uuid4()))
        # The hub keeps working on earlier orders meanwhile: their new events come too, but no
        # event is heard twice.
        resumed = [e for e, _ in client.follow(kept)]
        assert {e["event_id"] for e in resumed}.isdisjoint(e["event_id"] for e, _ in seen)
        assert later["id"] in {e["aggregate_id"] for e in resumed}
    finally:
        client.close()

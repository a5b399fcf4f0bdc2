"""What operators see: the outbox's lag, stuck workflows, and Prometheus metrics."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.http.channel import order_body, place, stock
from tests.integration.http.conftest import Api
from tests.integration.http.test_read_side import project


async def test_the_outbox_view_shows_what_waits_for_the_relay_and_what_it_published(
    api: Api,
) -> None:
    await stock(api, "MUG-1", "dc-east", 10)
    await place(api, order_body("W-1"), key="k-1")
    api.clock.advance(timedelta(seconds=30))
    waiting = (await api.client.get("/v1/ops/outbox", headers=api.auth("ops"))).json()
    assert waiting == {
        "unpublished": 3,
        "oldest_unpublished_age_seconds": 30.0,
        "published_last_minute": 0,
    }
    api.container.actors()
    assert await api.container.relay().relay_once() == 3
    relayed = (await api.client.get("/v1/ops/outbox", headers=api.auth("ops"))).json()
    assert relayed == {
        "unpublished": 0,
        "oldest_unpublished_age_seconds": 0.0,
        "published_last_minute": 3,
    }
    assert (await api.client.get("/v1/ops/outbox", headers=api.auth("agent"))).status_code == 403


async def test_an_order_not_booked_in_time_is_stuck_and_counted_in_the_metrics(api: Api) -> None:
    await stock(api, "MUG-1", "dc-east", 10)
    oid = (await place(api, order_body("W-2"), key="k-2")).json()["id"]
    await project(api)
    assert (await api.client.get("/v1/ops/stuck", headers=api.auth("ops"))).json()["items"] == []
    api.clock.advance(timedelta(minutes=16))
    stuck = (await api.client.get("/v1/ops/stuck", headers=api.auth("ops"))).json()
    assert [(s["kind"], s["order_id"], s["status"], s["age_seconds"]) for s in stuck["items"]] == [
        ("not_booked", oid, "reserved", 960.0)
    ]
    metrics = (await api.client.get("/metrics")).text
    assert 'orderhub_stuck_workflows{kind="not_booked"} 1.0' in metrics
    assert 'orderhub_commands_total{command="PlaceOrder",outcome="ok"}' in metrics
    assert "orderhub_outbox_unpublished 3.0" in metrics
    assert "orderhub_command_seconds_bucket" in metrics


async def test_the_metrics_count_http_requests_by_route_template_and_the_process(
    api: Api,
) -> None:
    await stock(api, "MUG-1", "dc-east", 10)
    oid = (await place(api, order_body("W-3"), key="k-3")).json()["id"]
    await api.client.get(f"/v1/orders/{oid}", headers=api.auth("web"))
    await api.client.get("/v1/orders/not-a-route/at/all", headers=api.auth("web"))

    metrics = (await api.client.get("/metrics")).text

    requests = [
        line for line in metrics.splitlines() if line.startswith("orderhub_http_requests_total{")
    ]
    assert any('path="/v1/orders/{order_id}"' in line and 'status_code="200"' in line
               and 'method="GET"' in line for line in requests), requests  # fmt: skip
    assert any('path="/v1/orders"' in line and 'status_code="201"' in line for line in requests)
    assert not any(oid in line or "not-a-route" in line for line in requests)  # no series per id
    assert not any('path="/metrics"' in line for line in requests)
    assert "orderhub_http_request_duration_seconds_bucket{" in metrics
    assert "process_resident_memory_bytes" in metrics
    assert "python_gc_collections_total" in metrics
    assert "aggregate with max, not sum" in metrics  # the hub's state says how to read it

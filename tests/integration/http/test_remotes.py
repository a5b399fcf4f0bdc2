"""GET /v1/ops/remotes and orderhub_remote_circuit_open over HTTP: a commerce outage met by real
deliveries opens the worker side's commerce breaker, the API reads it from the database with the
deliveries waiting it out, and both drain once commerce is back."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from dependency_injector import providers

from adapters.simulators.faults import Outage
from ports.outbox import Message
from tests.integration.http.channel import order_body, place, stock
from tests.integration.http.conftest import Api
from tests.unit.adapters.timing import FakeMonotonic

REMOTES = "/v1/ops/remotes"
SECOND = timedelta(seconds=1)


async def relay_to_fulfilment(api: Api) -> list[Message]:
    """The relay's part, inline: every unpublished event, published to the fulfilment consumer."""
    now = api.clock.now()
    async with api.container.outbox_store().claim(100) as batch:
        messages = list(batch.messages)
        await batch.expect_deliveries(
            [(UUID(m["event_id"]), "fulfilment") for m in messages], now + 30 * SECOND
        )
        await batch.mark_published(now)
    return messages


async def deliver(api: Api, messages: list[Message]) -> list[str]:
    """The worker's part, inline, a second apart: each message to the fulfilment consumer."""
    outcomes = []
    for message in messages:
        api.clock.advance(SECOND)
        result = await api.container.delivery().deliver("fulfilment", message)
        outcomes.append(result.outcome.value)
    await api.container.circuit_reporter().flush()
    return outcomes


async def remotes(api: Api) -> dict[str, dict[str, Any]]:
    response = await api.client.get(REMOTES, headers=api.auth("ops"))
    assert response.status_code == 200
    return {item.pop("name"): item for item in response.json()["items"]}


def at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


CLOSED_AND_QUIET = {"state": "closed", "since": None, "consecutive_failures": 0, "waiting": 0}


async def test_every_remote_is_listed_closed_before_any_call(api: Api) -> None:
    assert await remotes(api) == dict.fromkeys(
        ("erp", "payment", "crm", "commerce"), CLOSED_AND_QUIET
    )
    metrics = (await api.client.get("/metrics")).text
    assert 'orderhub_remote_circuit_open{remote="erp"} 0.0' in metrics


async def test_a_commerce_outage_shows_open_with_the_deliveries_waiting_then_drains(
    pg_api: Api,
) -> None:
    api = pg_api
    cool_down = FakeMonotonic()  # the breakers' clock: 30 s of cool-down without waiting them
    api.container.breaker_clock.override(providers.Object(cool_down))
    await stock(api, "MUG-1", "dc-east", 10)
    for ref in ("W-1", "W-2"):
        assert (await place(api, order_body(ref), key=ref)).status_code == 201
    start = api.clock.now()
    api.container.back_office().faults["commerce"].schedule_outage(
        Outage(start, start + timedelta(hours=1))
    )

    reserved = await relay_to_fulfilment(api)
    await deliver(api, reserved)  # the ERP books both orders
    booked = await relay_to_fulfilment(api)
    assert [m["event_type"] for m in booked] == ["OrderBooked", "OrderBooked"]
    pushes_started = api.clock.now()
    outcomes = await deliver(api, booked * 3)  # each push to commerce tried three times

    assert outcomes == ["outage"] * 6
    opened_at = pushes_started + 5 * SECOND  # the fifth failure in a row opened the circuit
    assert (await remotes(api))["commerce"] == {
        "state": "open",
        "since": at(opened_at),
        "consecutive_failures": 5,
        "waiting": 2,
    }
    assert (await remotes(api))["erp"] == CLOSED_AND_QUIET  # it answered: nothing to tell
    metrics = (await api.client.get("/metrics")).text
    assert 'orderhub_remote_circuit_open{remote="commerce"} 1.0' in metrics
    assert 'orderhub_remote_circuit_open{remote="erp"} 0.0' in metrics

    api.clock.advance(timedelta(hours=1))  # commerce is back
    cool_down.advance(30)  # and the breaker's cool-down is over: the next push is the probe
    assert await deliver(api, booked) == ["done", "done"]

    closed_at = pushes_started + 6 * SECOND + timedelta(hours=1) + SECOND
    assert (await remotes(api))["commerce"] == {
        "state": "closed",
        "since": at(closed_at),
        "consecutive_failures": 0,
        "waiting": 0,
    }
    metrics = (await api.client.get("/metrics")).text
    assert 'orderhub_remote_circuit_open{remote="commerce"} 0.0' in metrics


async def test_only_ops_keys_see_the_remotes(api: Api) -> None:
    assert (await api.client.get(REMOTES)).status_code == 401
    for who in ("web", "agent", "system"):
        assert (await api.client.get(REMOTES, headers=api.auth(who))).status_code == 403

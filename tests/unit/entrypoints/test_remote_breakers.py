"""The composition root gives each remote its own breaker, named as the ops view names it, in
front of the real adapter when a URL is configured and in front of the simulator when not; an
outage of a simulator opens that remote's breaker only, its errors say which remote, and the
board hears of it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from dependency_injector import providers

from adapters.circuit_reporter import CircuitReporter
from adapters.commerce_routes import CommerceRouter
from adapters.memory.circuit_board import InMemoryCircuitBoard
from adapters.memory.store import InMemoryStore
from adapters.simulators.faults import Outage
from entrypoints.container import Container, build_container
from entrypoints.settings import Settings
from ports.circuits import REMOTES, CircuitState
from ports.commerce import CommerceStatus
from ports.remote import RemoteUnavailable

REAL = {
    "ERP_URL": "http://127.0.0.1:9/erp",
    "CRM_URL": "http://127.0.0.1:9/sf",
    "SALESFORCE_CLIENT_ID": "id",
    "SALESFORCE_CLIENT_SECRET": "secret",
    "COMMERCE_URL": "http://127.0.0.1:9/shop",
    "SHOPIFY_ACCESS_TOKEN": "shpat_x",
    "PAYMENT_PROVIDER": "stripe",
    "STRIPE_API_KEY": "sk_test_x",
}


def breakers(container: Container) -> dict[str, Any]:
    return {name: getattr(container, f"{name}_breaker")() for name in REMOTES}


def adapters(container: Container) -> dict[str, Any]:
    commerce = container.commerce()
    assert isinstance(commerce, CommerceRouter)
    return {
        "erp": container.erp(),
        "payment": container.payment(),
        "crm": container.crm(),
        "commerce": commerce._adapters,  # each target's adapter
    }


@pytest.mark.parametrize("env", [{}, REAL], ids=["simulators", "real"])
async def test_each_remote_has_its_own_breaker_named_after_it(env: dict[str, str]) -> None:
    container = build_container(Settings.from_env(env))
    built = breakers(container)
    ports = adapters(container)

    assert [b.name for b in built.values()] == list(REMOTES)
    assert len({id(b) for b in built.values()}) == 4
    for name in ("erp", "payment", "crm"):
        assert ports[name].breaker is built[name]
    assert all(target.breaker is built["commerce"] for target in ports["commerce"].values())
    for port in (ports["erp"], ports["payment"], ports["crm"], *ports["commerce"].values()):
        if hasattr(port, "aclose"):
            await port.aclose()


async def test_a_simulator_outage_opens_only_its_remotes_breaker() -> None:
    container = build_container(Settings.from_env({}))
    board = InMemoryCircuitBoard(InMemoryStore())
    clock = container.clock()
    container.circuit_reporter.override(providers.Object(CircuitReporter(board, clock)))
    now = clock.now()
    container.back_office().faults["commerce"].schedule_outage(
        Outage(now - timedelta(minutes=1), now + timedelta(hours=1))
    )
    push = CommerceStatus(channel="web", channel_order_ref="W-1", status="booked")

    errors = []
    for n in range(6):
        with pytest.raises(RemoteUnavailable) as caught:
            await container.commerce().push_status(push, f"e{n}:commerce")
        errors.append(caught.value)

    assert {e.remote for e in errors} == {"commerce"}
    states = {name: b.state for name, b in breakers(container).items()}
    assert states == {
        "erp": CircuitState.CLOSED,
        "payment": CircuitState.CLOSED,
        "crm": CircuitState.CLOSED,
        "commerce": CircuitState.OPEN,
    }
    await container.circuit_reporter().flush()
    [commerce] = await board.circuits()
    assert (commerce.remote, commerce.state, commerce.consecutive_failures) == (
        "commerce",
        CircuitState.OPEN,
        5,
    )


def test_a_channel_routed_to_webhook_calls_no_commerce_adapter() -> None:
    key = "A" * 43 + "="
    container = build_container(
        Settings.from_env({"COMMERCE_ROUTES": "pos=webhook,*=simulator", "WEBHOOK_SECRET_KEY": key})
    )
    targets = adapters(container)["commerce"]
    assert set(targets) == {"simulator", "webhook"}
    assert not hasattr(targets["webhook"], "breaker")  # it calls nobody, so no circuit

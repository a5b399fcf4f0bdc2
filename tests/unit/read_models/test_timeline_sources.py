"""Whose name a timeline entry carries: whoever asked for it, or the system whose fact it is; a
return decision is the agent's when an agent took it, else the hub's policy's."""

from __future__ import annotations

from typing import Any

import pytest

from read_models.timeline import entry

AUTHORIZED = {"order_id": "o-1", "return_id": "r-1", "rma_number": "RMA-1"}


def message(event_type: str, actor: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"event_type": event_type, "actor": actor, "payload": payload,
            "occurred_at": "2026-12-07T10:00:00+00:00"}  # fmt: skip


@pytest.mark.parametrize(
    ("actor", "source"),
    [
        ("agent:41ab", "agent"),  # an agent authorized a return the policy left waiting
        ("channel:web:9f2c", "hub"),  # the policy authorized the channel's request at once
        ("system:test", "hub"),
    ],
)
def test_a_return_authorization_is_the_agent_s_or_the_policy_s(actor: str, source: str) -> None:
    found = entry(message("ReturnAuthorized", actor, AUTHORIZED))
    assert found is not None
    assert found.source == source


def test_what_the_hub_does_for_an_agent_stays_the_hub_s() -> None:
    reserved = {"order_id": "o-1", "reservations": [{"sku": "MUG", "quantity": 1, "location": "dc"}]}  # fmt: skip
    found = entry(message("InventoryReserved", "agent:41ab", reserved))
    assert found is not None
    assert found.source == "hub"

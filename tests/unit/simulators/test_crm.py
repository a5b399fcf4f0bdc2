"""The simulated CRM: cases found by external id, comments once each, agents' updates reported."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest

from adapters.simulators.crm import SimulatedCrm
from adapters.simulators.faults import FaultModel, FaultProfile
from ports.crm import CrmPort
from ports.remote import RemoteRejected
from tests.unit.simulators.worlds import START, an_id, has_the_inbound_shape, with_retries


async def test_it_implements_the_crm_port() -> None:
    crm: CrmPort = SimulatedCrm()
    assert await crm.open_case("s", "d", "ext-1") == "500000000000001"


async def test_a_case_is_opened_once_per_external_id() -> None:
    crm = SimulatedCrm()
    first = await crm.open_case("Return held", "amount differs", "return-held:1")
    assert await crm.open_case("Return held", "amount differs", "return-held:1") == first
    assert await crm.open_case("Another", "", "return-held:2") != first
    assert crm.stats.cases_opened == 2
    case = crm.case_by_external_id("return-held:1")
    assert case is not None
    assert case.case_id == first


async def test_a_comment_is_added_once_per_external_id() -> None:
    crm = SimulatedCrm()
    case_id = await crm.open_case("s", "d", "ext-1")
    await crm.add_case_comment(case_id, "Order WEB-1: booked", "evt-1:crm")
    await crm.add_case_comment(case_id, "Order WEB-1: booked", "evt-1:crm")
    await crm.add_case_comment(case_id, "Order WEB-1: shipped", "evt-2:crm")
    case = crm.case(case_id)
    assert case is not None
    assert [c.body for c in case.comments] == ["Order WEB-1: booked", "Order WEB-1: shipped"]


async def test_lost_replies_never_duplicate_cases_or_comments() -> None:
    crm = SimulatedCrm(faults=FaultModel(FaultProfile(lost_reply_rate=0.5), seed=3))
    case_ids = {await with_retries(lambda: crm.open_case("s", "d", "ext-1")) for _ in range(5)}
    [case_id] = case_ids
    for n in range(10):
        await with_retries(partial(crm.add_case_comment, case_id, f"note {n}", f"c{n}"))
    case = crm.case(case_id)
    assert case is not None
    assert len(case.comments) == 10
    assert crm.stats.cases_opened == 1


async def test_setting_the_status_a_case_has_changes_nothing() -> None:
    crm = SimulatedCrm()
    case_id = await crm.open_case("s", "d", "ext-1")
    await crm.update_case_status(case_id, "pending")
    await crm.update_case_status(case_id, "pending")
    await crm.update_case_status(case_id, "closed")
    case = crm.case(case_id)
    assert case is not None
    assert (case.status, case.status_history) == ("closed", ["new", "pending", "closed"])


async def test_a_case_opened_elsewhere_is_taken_as_existing() -> None:
    crm = SimulatedCrm()
    await crm.add_case_comment("CASE-FROM-THE-CHANNEL", "hello", "c1")
    case = crm.case("CASE-FROM-THE-CHANNEL")
    assert case is not None
    assert [c.body for c in case.comments] == ["hello"]


async def test_a_strict_crm_refuses_unknown_cases() -> None:
    crm = SimulatedCrm(known_cases_only=True)
    with pytest.raises(RemoteRejected, match="no case"):
        await crm.add_case_comment("500999", "hello", "c1")
    with pytest.raises(RemoteRejected, match="no case"):
        await crm.update_case_status("500999", "closed")
    case_id = crm.agent_opens_case("Where is my order?")
    await crm.add_case_comment(case_id, "hello", "c1")


async def test_an_agents_update_reaches_the_hub_as_case_updated() -> None:
    crm = SimulatedCrm(seed=4)
    case_id = crm.agent_opens_case("Where is my order?")
    order_id = str(an_id(1))
    crm.agent_updates_case(
        case_id, "escalated", "customer called twice", at=START, order_id=order_id
    )
    crm.agent_updates_case(case_id, "solved", "parcel found", at=START + timedelta(hours=1))

    first, second = crm.due_events(START + timedelta(hours=1))
    assert first == (
        "crm",
        {
            "event_id": first[1]["event_id"],
            "type": "case.updated",
            "occurred_at": "2026-11-02T09:00:00Z",
            "data": {
                "case_id": case_id,
                "status": "escalated",
                "note": "customer called twice",
                "order_id": order_id,
            },
        },
    )
    assert has_the_inbound_shape(first[1])
    assert has_the_inbound_shape(second[1])
    assert first[1]["event_id"] != second[1]["event_id"]
    case = crm.case(case_id)
    assert case is not None
    assert case.status == "solved"

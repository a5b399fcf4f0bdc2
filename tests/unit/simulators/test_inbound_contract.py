"""Every event the simulators report is one the hub's inbound endpoint takes from that source."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import msgspec

from adapters.clock import FixedClock
from adapters.simulators.agenda import Redelivery
from adapters.simulators.back_office import SimulatedBackOffice
from adapters.simulators.erp import ErpBehaviour
from adapters.simulators.inbound import Inbound
from adapters.simulators.warehouse import WarehouseBehaviour
from entrypoints.http.inbound_events import InboundEventBody, command_for
from tests.unit.simulators.worlds import START, a_return, an_id, an_order


async def every_kind_of_event() -> list[Inbound]:
    clock = FixedClock(START)
    office = SimulatedBackOffice(
        clock=clock,
        seed=12,
        erp_behaviour=ErpBehaviour(credit_memo_mismatch_rate=0.5, redelivery=Redelivery(0.5)),
        warehouse_behaviour=WarehouseBehaviour(split_rate=0.5, out_of_order_rate=0.3),
    )
    for n in range(6):
        order = an_order(n, {"MUG": 1 + n, "TEE": 2}, locations={"MUG": "store-12"})
        ref = (await office.erp.submit_order(order)).erp_order_ref
        assert ref is not None
        ret = a_return(order, ref, n, MUG=1)
        await office.erp.authorize_return(ret)
        await office.erp.request_credit_memo(ret.return_id, Decimal("12.50"), "EUR")
    office.warehouse.report_stock("MUG", "dc-east", 40, at=START)
    office.warehouse.adjust_stock("MUG", "dc-east", -2, at=START, reason="damaged")
    case_id = office.crm.agent_opens_case("Where is my parcel?")
    office.crm.agent_updates_case(case_id, "solved", "found", at=START, order_id=str(an_id(1)))
    return office.due_events(START + timedelta(days=40)) + office.crm.due_events(START)


async def test_every_simulated_event_becomes_a_hub_command() -> None:
    events = await every_kind_of_event()
    kinds = set()
    for source, event in events:
        body = msgspec.json.decode(json.dumps(event), type=InboundEventBody)
        command_for(source, body.type, body.data, body.occurred_at)
        kinds.add(body.type)
    assert kinds == {
        "order.booked",
        "shipment.dispatched",
        "shipment.delivered",
        "return.received",
        "return.inspected",
        "credit_memo.posted",
        "stock.snapshot",
        "stock.adjusted",
        "case.updated",
    }

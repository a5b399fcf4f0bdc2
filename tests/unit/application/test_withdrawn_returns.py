"""A return withdrawn before its authorization reached the ERP is never sent there (nor commented
on in the CRM): request → cancel in a loop calls no remote system."""

from __future__ import annotations

from adapters.memory.remote import InMemoryCrm, InMemoryErp
from application.process_managers.returns import Returns
from domain import commands as c
from domain.returns import ReturnLineSpec
from tests.factories import LineSpecFactory, PlaceOrderFactory, case_id
from tests.hub import Hub


async def test_a_return_cancelled_before_the_erp_heard_of_it_is_never_sent_there(
    hub: Hub,
) -> None:
    erp, crm = InMemoryErp(), InMemoryCrm()
    returns = Returns(hub.process_context(erp=erp, crm=crm))
    await hub.stock("MUG", "dc-east", 5)
    order_id = await hub.run(PlaceOrderFactory(lines=(LineSpecFactory(sku="MUG", quantity=1),)))
    await hub.run(c.BookOrder(order_id=order_id, erp_order_ref="SO-1"))
    await hub.ship(order_id, "MUG", 1)
    line = ReturnLineSpec(sku="MUG", quantity=1, reason="too small")
    for case in (case_id(1), None):
        return_id = await hub.run(c.RequestReturn(order_id=order_id, lines=(line,), case_id=case))
        await hub.run(c.CancelReturn(return_id=return_id))

    for envelope in hub.events(order_id):
        if envelope.event_type in Returns.subscribes:
            await returns.handle(envelope)

    assert erp.returns == {}
    assert crm.comments == {}

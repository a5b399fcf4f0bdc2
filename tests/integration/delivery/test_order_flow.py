"""An order and a return through the relay and Dramatiq workers, with the ERP, payment, CRM and
commerce fakes behind their ports."""

from __future__ import annotations

from decimal import Decimal

from domain import commands as c
from domain.returns import Disposition, ReturnLineSpec
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.integration.delivery.conftest import Pipeline


async def status_of(pipeline: Pipeline, order_id: object) -> str:
    order = await pipeline.api.lookup().order(order_id)  # type: ignore[arg-type]
    assert order is not None
    return order.status.value


async def test_an_order_is_booked_shipped_captured_delivered_and_refunded(
    pipeline: Pipeline,
) -> None:
    await pipeline.run(c.ApplyStockSnapshot(sku="MUG", location="dc-east", on_hand=10, sequence=1))
    order_id = await pipeline.run(
        PlaceOrderFactory(
            lines=(LineSpecFactory(sku="MUG", quantity=2, unit_price=Decimal("12.50")),)
        )
    )

    async def booked() -> bool:
        return await status_of(pipeline, order_id) == "booked"

    await pipeline.until(booked)
    erp = pipeline.worker_side.erp()
    assert list(erp.orders) == [order_id]
    order = await pipeline.api.lookup().order(order_id)
    assert order is not None
    assert order.erp_order_ref == erp.decisions[order_id].erp_order_ref

    await pipeline.run(
        c.RecordShipment(
            order_id=order_id, shipment_id="S1", location="dc-east", carrier="DHL",
            tracking_number="JD01", lines=(c.SkuCount(sku="MUG", quantity=2),),
            dispatched_at=pipeline.api.clock().now(),
        )
    )  # fmt: skip

    async def captured() -> bool:
        order = await pipeline.api.lookup().order(order_id)
        return order is not None and order.payment.status.value == "captured"

    await pipeline.until(captured)
    payments = pipeline.worker_side.payment()
    assert payments.captures == {f"capture:{order_id}": (order.payment.reference, Decimal("25.00"))}
    commerce = pipeline.worker_side.commerce()

    await pipeline.run(
        c.RecordDelivery(
            order_id=order_id, shipment_id="S1", delivered_at=pipeline.api.clock().now()
        )
    )
    return_id = await pipeline.run(
        c.RequestReturn(
            order_id=order_id, lines=(ReturnLineSpec(sku="MUG", quantity=1, reason="chipped"),)
        )
    )
    await pipeline.run(
        c.ReceiveReturn(return_id=return_id, lines=(c.SkuCount(sku="MUG", quantity=1),))
    )
    await pipeline.run(
        c.InspectReturn(
            return_id=return_id, lines=(c.InspectedSku(sku="MUG", disposition=Disposition.RESTOCK),)
        )
    )

    async def credit_memo_requested() -> bool:
        return return_id in erp.credit_memo_requests

    await pipeline.until(credit_memo_requested)
    assert return_id in erp.returns  # the ERP authorized the return under our RMA
    await pipeline.run(
        c.PostCreditMemo(
            return_id=return_id, credit_memo_ref="CM-1", amount=erp.credit_memo_requests[return_id]
        )
    )

    async def closed() -> bool:
        order = await pipeline.api.lookup().order(order_id)
        return order is not None and order.get_return(return_id).status.value == "closed"

    await pipeline.until(closed)
    assert payments.refunds == {f"refund:{return_id}": (order.payment.reference, Decimal("12.50"))}
    statuses = [
        u.status
        for u in commerce.updates.values()
        if u.channel_order_ref == order.channel_order_ref
    ]
    assert {"booked", "shipped", "delivered", "partially_refunded"} <= set(statuses)

"""Documents the adapter tests send: ERP orders."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID, uuid4

from domain.customer import Address
from ports.erp import ErpLine, ErpOrder


def an_order(*skus: str, order_id: UUID | None = None) -> ErpOrder:
    lines = tuple(
        ErpLine(sku=sku, quantity=2, unit_price=Decimal("19.99"), location="dc-east")
        for sku in skus or ("SKU-1",)
    )
    return ErpOrder(
        order_id=order_id or uuid4(),
        channel="web",
        channel_order_ref="W-1001",
        customer_email="ada@example.com",
        shipping_address=Address(
            name="Ada Lovelace",
            line1="1 Analytical Way",
            city="London",
            postal_code="N1 9GU",
            country="GB",
        ),
        currency="EUR",
        lines=lines,
        total=sum((ln.unit_price * ln.quantity for ln in lines), Decimal("0")),
    )

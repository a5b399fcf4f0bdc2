"""The order as the ERP gets it: one line per (sku, location) its units were allocated at."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from application.process_managers.fulfilment import erp_order
from application.settings import HubSettings
from domain import commands as c
from domain.allocation import LocationPriority
from ports.erp import ErpLine
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.hub import Hub

MUG, LAMP = Decimal("12.50"), Decimal("40.00")


def line(sku: str, quantity: int, price: Decimal, location: str | None) -> ErpLine:
    return ErpLine(sku=sku, quantity=quantity, unit_price=price, location=location)


async def place(hub: Hub, mugs: int, *, allow_backorder: bool = False) -> UUID:
    command = PlaceOrderFactory(
        lines=(
            LineSpecFactory(sku="MUG", quantity=mugs, unit_price=MUG),
            LineSpecFactory(sku="LAMP", quantity=1, unit_price=LAMP),
        ),
        allow_backorder=allow_backorder,
    )
    return await hub.run(command)


async def stock_split_across_dcs(hub: Hub) -> None:
    await hub.stock("MUG", "dc-east", 2)
    await hub.stock("MUG", "dc-west", 5)
    await hub.stock("LAMP", "dc-west", 3)


async def test_a_line_split_across_two_locations_is_booked_at_each() -> None:
    hub = Hub(HubSettings(location_priority=LocationPriority(("dc-east", "dc-west"))))
    await stock_split_across_dcs(hub)
    order_id = await place(hub, mugs=3)

    document = erp_order(hub.order(order_id))

    assert document.lines == (
        line("MUG", 2, MUG, "dc-east"),
        line("MUG", 1, MUG, "dc-west"),
        line("LAMP", 1, LAMP, "dc-west"),
    )
    assert sum(ln.quantity * ln.unit_price for ln in document.lines) == document.total


async def test_the_location_priority_decides_where_units_are_booked() -> None:
    hub = Hub(HubSettings(location_priority=LocationPriority(("dc-west", "dc-east"))))
    await stock_split_across_dcs(hub)
    order_id = await place(hub, mugs=3)

    assert erp_order(hub.order(order_id)).lines == (
        line("MUG", 3, MUG, "dc-west"),
        line("LAMP", 1, LAMP, "dc-west"),
    )


async def test_units_no_location_holds_are_a_line_without_a_location() -> None:
    hub = Hub(HubSettings(location_priority=LocationPriority(("dc-east", "dc-west"))))
    await hub.stock("MUG", "dc-east", 2)
    await hub.stock("MUG", "dc-west", 1)
    order_id = await place(hub, mugs=4, allow_backorder=True)

    assert erp_order(hub.order(order_id)).lines == (
        line("MUG", 2, MUG, "dc-east"),
        line("MUG", 1, MUG, "dc-west"),
        line("MUG", 1, MUG, None),
        line("LAMP", 1, LAMP, None),
    )


async def test_an_amended_order_is_sent_as_it_now_stands() -> None:
    hub = Hub(HubSettings(location_priority=LocationPriority(("dc-east", "dc-west"))))
    await stock_split_across_dcs(hub)
    order_id = await place(hub, mugs=3)

    await hub.run(c.AmendOrder(order_id=order_id, lines=(c.SkuCount(sku="MUG", quantity=2),)))

    # the latest hold (dc-west's) was released; dc-east still holds both
    assert erp_order(hub.order(order_id)).lines == (
        line("MUG", 2, MUG, "dc-east"),
        line("LAMP", 1, LAMP, "dc-west"),
    )


async def test_each_booked_line_carries_the_tax_of_one_unit() -> None:
    hub = Hub(HubSettings(location_priority=LocationPriority(("dc-east", "dc-west"))))
    await stock_split_across_dcs(hub)
    taxed = LineSpecFactory(sku="MUG", quantity=3, unit_price=MUG, tax_amount=Decimal("2.50"))
    order_id = await hub.run(PlaceOrderFactory(lines=(taxed,)))

    document = erp_order(hub.order(order_id))

    tax = Decimal("2.50")
    assert document.lines == (
        ErpLine(sku="MUG", quantity=2, unit_price=MUG, tax_amount=tax, location="dc-east"),
        ErpLine(sku="MUG", quantity=1, unit_price=MUG, tax_amount=tax, location="dc-west"),
    )
    assert document.total == Decimal("45.00")  # 3 × (12.50 + 2.50)

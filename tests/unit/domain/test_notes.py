"""A note on an order: allowed in every state, recorded as an event, changing nothing else."""

from __future__ import annotations

import pytest

from domain.errors import ValidationFailed
from domain.events import NoteAdded
from domain.order_lifecycle import OrderStatus
from tests.unit.domain.states import order_in


@pytest.mark.parametrize("status", list(OrderStatus), ids=str)
def test_a_note_is_written_on_an_order_in_any_state_and_changes_nothing_else(
    status: OrderStatus,
) -> None:
    shop = order_in(status)
    order = shop.order
    before = (order.status, order.hold_reason, order.total, len(order.shipments))

    order.add_note("Customer called about the delivery slot", shop.tick())

    assert order.events[-1] == NoteAdded(
        order_id=order.id, text="Customer called about the delivery slot"
    )
    assert (order.status, order.hold_reason, order.total, len(order.shipments)) == before


@pytest.mark.parametrize("text", ["", "   ", "x" * 2001, "nul\x00here"], ids=repr)
def test_an_empty_oversize_or_nul_note_is_refused_and_records_nothing(text: str) -> None:
    shop = order_in(OrderStatus.RESERVED)
    seen = len(shop.order.events)

    with pytest.raises(ValidationFailed):
        shop.order.add_note(text, shop.tick())

    assert len(shop.order.events) == seen

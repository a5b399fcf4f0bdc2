"""Orders stored before lines carried tax (and before appeasements) load as orders without tax."""

from __future__ import annotations

from types import SimpleNamespace
from uuid import uuid4

from adapters.sql.order_record import order_from_row, order_row
from domain.money import Money
from domain.return_policy import ReturnPolicy
from tests.factories import ReturnLineSpecFactory
from tests.unit.domain.builders import NOW, delivered, line


def test_an_order_stored_without_tax_fields_loads_with_no_tax_and_refunds_as_before() -> None:
    order, _ = delivered(line("MUG", 2, "19.99"))
    ret = order.request_return(
        return_id=uuid4(),
        lines=[ReturnLineSpecFactory(sku="MUG", quantity=1)],
        policy=ReturnPolicy(),
        rma_number="RMA-1",
        now=NOW,
    )
    row = order_row(order)
    for stored_line in row["state"]["lines"]:
        del stored_line["tax_amount"]
    for stored_line in row["state"]["returns"][0]["lines"]:
        del stored_line["unit_tax"]
    del row["state"]["payment"]["appeasements"]

    loaded = order_from_row(SimpleNamespace(**row))

    assert loaded.lines[0].tax_amount == Money.of("0.00", "EUR")
    assert str(loaded.lines[0].tax_amount.amount) == "0.00"
    assert loaded.total == Money.of("39.98", "EUR")
    assert loaded.payment.appeasements == []
    loaded.receive_return(ret.id, [("MUG", 1)], NOW)
    assert loaded.get_return(ret.id).refund_amount == Money.of("19.99", "EUR")

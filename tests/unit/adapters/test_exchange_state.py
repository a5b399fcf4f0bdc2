"""An exchange is kept in its order's stored state, before and after receipt settled it."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from uuid import uuid4

from adapters.sql.order_record import order_from_row, order_row
from domain.exchange import ExchangeOutcome
from domain.order import Order
from domain.return_policy import ReturnPolicy
from tests.factories import LineSpecFactory, ReturnLineSpecFactory
from tests.unit.domain.builders import NOW, delivered, line


def reloaded(order: Order) -> Order:
    return order_from_row(SimpleNamespace(**order_row(order)))


def test_an_exchange_loads_as_it_was_stored_before_and_after_receipt() -> None:
    order, _ = delivered(line("MUG", 2, "10.00"))
    ret = order.request_return(
        return_id=uuid4(),
        lines=[ReturnLineSpecFactory(sku="MUG", quantity=2)],
        policy=ReturnPolicy(),
        rma_number="RMA-1",
        now=NOW,
        exchange_lines=[
            LineSpecFactory(
                sku="JUG", quantity=1, unit_price=Decimal("25.00"), tax_amount=Decimal("5.00")
            )
        ],
        exchange_payment=("pay-diff", Decimal("10.00")),
    )
    assert ret.exchange is not None

    assert reloaded(order).get_return(ret.id).exchange == ret.exchange

    order.receive_return(ret.id, [("MUG", 2)], NOW)
    loaded = reloaded(order).get_return(ret.id).exchange

    assert loaded == ret.exchange
    assert loaded is not None
    assert loaded.outcome is ExchangeOutcome.REPLACED
    assert str(loaded.payment_due.amount if loaded.payment_due else None) == "10.00"


def test_a_plain_return_stored_before_exchanges_loads_without_one() -> None:
    order, _ = delivered(line("MUG", 1, "10.00"))
    ret = order.request_return(
        return_id=uuid4(),
        lines=[ReturnLineSpecFactory(sku="MUG", quantity=1)],
        policy=ReturnPolicy(),
        rma_number="RMA-1",
        now=NOW,
    )
    row = order_row(order)
    del row["state"]["returns"][0]["exchange"]

    assert order_from_row(SimpleNamespace(**row)).get_return(ret.id).exchange is None

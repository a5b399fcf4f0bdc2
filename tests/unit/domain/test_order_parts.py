"""An order's reservations, shipments and returns read like the list and dicts the repositories
store, rebuild from them, copy deeply, and change only through the order's commands."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import pytest

from domain.order import Order
from domain.order_lifecycle import OrderStatus
from domain.returns import ReturnStatus
from tests.unit.domain.states import SKU, order_in, return_in


def test_an_orders_reservations_read_like_a_list() -> None:
    order = order_in(OrderStatus.RESERVED).order
    as_list = list(order.reservations)

    assert len(order.reservations) == len(as_list) == 1
    assert order.reservations[0] is as_list[0]
    assert order.reservations == as_list
    assert order.reservations != []
    assert [r.sku for r in reversed(order.reservations)] == [SKU]


def test_an_orders_shipments_and_returns_read_like_dicts() -> None:
    shop = return_in(ReturnStatus.AUTHORIZED)
    order, return_id = shop.order, shop.return_id
    assert return_id is not None

    assert list(order.shipments) == ["S1"]
    assert order.shipments == {"S1": order.shipments["S1"]}
    assert order.shipments.get("S9") is None
    assert [s.id for s in order.shipments.values()] == ["S1"]
    assert return_id in order.returns
    assert order.returns == {return_id: order.get_return(return_id)}
    assert dict(order.returns.items()) == {return_id: order.returns[return_id]}
    assert len(order.returns) == 1


def test_an_order_rebuilt_from_its_stored_parts_answers_the_same() -> None:
    order = return_in(ReturnStatus.RECEIVED).order

    rebuilt = Order(**_stored(order))

    assert rebuilt.reservations == order.reservations
    assert rebuilt.shipments == order.shipments
    assert rebuilt.returns == order.returns
    assert (rebuilt.reserved(SKU), rebuilt.returned(SKU), rebuilt.returnable(SKU)) == (
        order.reserved(SKU),
        order.returned(SKU),
        order.returnable(SKU),
    )
    assert rebuilt.delivered_at(SKU) == order.delivered_at(SKU)
    assert rebuilt.stock_keys() == order.stock_keys()


def test_a_deep_copy_of_an_order_shares_none_of_its_parts() -> None:
    shop = order_in(OrderStatus.SHIPPED)
    order = shop.order
    twin = deepcopy(order)

    twin.record_delivery("S1", shop.tick(), shop.tick())

    assert twin.shipments["S1"].is_delivered
    assert not order.shipments["S1"].is_delivered
    assert twin.reservations[0] is not order.reservations[0]


def test_an_orders_parts_change_only_through_its_commands() -> None:
    shop = return_in(ReturnStatus.AUTHORIZED)
    order = shop.order

    with pytest.raises(TypeError):
        order.shipments["S9"] = order.shipments["S1"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        order.reservations.append(order.reservations[0])  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        del order.returns[next(iter(order.returns))]  # type: ignore[attr-defined]


def _stored(order: Order) -> dict[str, Any]:
    """The constructor's keyword arguments as a repository passes them: plain lists and dicts."""
    parts = {k: v for k, v in vars(order).items() if k != "events"}
    parts["reservations"] = list(order.reservations)
    parts["shipments"] = dict(order.shipments)
    parts["returns"] = dict(order.returns)
    return parts

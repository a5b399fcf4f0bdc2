"""Integration trouble on an order: allowed in every state, recorded as an event, changing nothing
else (PRODUCT.md §8.3)."""

from __future__ import annotations

import pytest

from domain.events import IntegrationDeadLettered, IntegrationFailing, IntegrationRecovered
from domain.integration_trouble import Trouble, TroubleKind
from domain.order_lifecycle import OrderStatus
from tests.unit.domain.states import order_in

FAILING = Trouble(
    kind=TroubleKind.FAILING,
    remote="erp",
    consumer="fulfilment",
    event_type="OrderCancelled",
    attempts=2,
    error="RemoteUnavailable: ERP answered 503",
)


@pytest.mark.parametrize("status", list(OrderStatus), ids=str)
def test_trouble_is_recorded_on_an_order_in_any_state_and_changes_nothing_else(
    status: OrderStatus,
) -> None:
    shop = order_in(status)
    order = shop.order
    before = (order.status, order.hold_reason, order.total, order.payment, len(order.shipments))
    version = order.version

    order.record_integration_trouble(FAILING, shop.tick())

    assert order.events[-1] == IntegrationFailing(
        order_id=order.id,
        remote="erp",
        consumer="fulfilment",
        event_type="OrderCancelled",
        attempts=2,
        error="RemoteUnavailable: ERP answered 503",
    )
    assert order.version == version + 1
    assert (
        order.status, order.hold_reason, order.total, order.payment, len(order.shipments)
    ) == before  # fmt: skip


def test_each_kind_of_trouble_records_its_own_event() -> None:
    shop = order_in(OrderStatus.BOOKED)
    order = shop.order
    dead = Trouble(
        kind=TroubleKind.DEAD_LETTERED, remote="payment", consumer="fulfilment",
        event_type="ShipmentDispatched", attempts=8, error="TimeoutError: ", reason="retries_exhausted",
    )  # fmt: skip
    recovered = Trouble(
        kind=TroubleKind.RECOVERED, remote="erp", consumer="fulfilment",
        event_type="OrderCancelled", attempts=3,
    )  # fmt: skip

    order.record_integration_trouble(dead, shop.tick())
    order.record_integration_trouble(recovered, shop.tick())

    assert order.events[-2:] == [
        IntegrationDeadLettered(
            order_id=order.id, remote="payment", consumer="fulfilment",
            event_type="ShipmentDispatched", attempts=8, reason="retries_exhausted",
            error="TimeoutError: ",
        ),
        IntegrationRecovered(
            order_id=order.id, remote="erp", consumer="fulfilment", event_type="OrderCancelled",
            attempts=3,
        ),
    ]  # fmt: skip

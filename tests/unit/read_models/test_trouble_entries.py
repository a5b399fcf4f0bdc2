"""Integration trouble on the timeline (PRODUCT.md §8.3): the remote is the source, the kind is
stable, the title is a sentence an agent reads aloud, the detail says what failed and how."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain import commands as c
from domain.integration_trouble import Trouble, TroubleKind
from read_models.timeline import SOURCES, entry
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.hub import Hub


async def trouble_entry(hub: Hub, trouble: Trouble) -> tuple[str, str, str, dict[str, object]]:
    """The timeline entry of `trouble` recorded on a new order."""
    await hub.stock("MUG", "dc-east", 5)
    order_id: UUID = await hub.run(PlaceOrderFactory(lines=(LineSpecFactory(sku="MUG"),)))
    await hub.run(c.RecordIntegrationTrouble(order_id=order_id, trouble=trouble))
    found = entry(hub.messages(order_id)[-1])
    assert found is not None
    return found.source, found.kind, found.title, found.detail


def trouble(
    kind: TroubleKind, remote: str, event_type: str, *, consumer: str = "fulfilment",
    attempts: int = 2, error: str = "", reason: str = "",
) -> Trouble:  # fmt: skip
    return Trouble(
        kind=kind, remote=remote, consumer=consumer, event_type=event_type, attempts=attempts,
        error=error, reason=reason,
    )  # fmt: skip


F, D, R = TroubleKind.FAILING, TroubleKind.DEAD_LETTERED, TroubleKind.RECOVERED


@pytest.mark.parametrize(
    ("trouble_", "source", "kind", "title"),
    [
        (trouble(F, "erp", "InventoryReserved"), "erp", "integration.failing",
         "We cannot reach the ERP to book this order right now; it will be tried again automatically"),
        (trouble(R, "erp", "InventoryReserved"), "erp", "integration.recovered",
         "The ERP is answering again: the order's booking went through"),
        (trouble(D, "erp", "InventoryReserved"), "erp", "integration.dead_lettered",
         "Booking this order in the ERP failed for good; our operations team has been told"),
        (trouble(F, "payment", "ShipmentDispatched"), "payment", "integration.failing",
         "We cannot reach the payment provider to capture the payment right now; it will be tried again automatically"),
        (trouble(D, "payment", "RefundIssued", consumer="returns"), "payment",
         "integration.dead_lettered",
         "Refunding the customer with the payment provider failed for good; our operations team has been told"),
        (trouble(F, "commerce", "ShipmentDispatched"), "commerce", "integration.failing",
         "We cannot reach the shop to update the order's status right now; it will be tried again automatically"),
        (trouble(R, "crm", "OrderBooked"), "crm", "integration.recovered",
         "The CRM is answering again: the case is up to date"),
        (trouble(F, "hub", "OrderCancelled"), "hub", "integration.failing",
         "We could not cancel this order yet because of a problem on our side; it will be tried again automatically"),
        (trouble(D, "hub", "ShipmentDelivered"), "hub", "integration.dead_lettered",
         "Passing on the order's latest change failed for good; our operations team has been told"),
    ],
)  # fmt: skip
async def test_trouble_reads_as_a_sentence_from_its_remote(
    hub: Hub, trouble_: Trouble, source: str, kind: str, title: str
) -> None:
    assert (await trouble_entry(hub, trouble_))[:3] == (source, kind, title)


async def test_trouble_detail_says_which_delivery_failed_and_how(hub: Hub) -> None:
    dead = trouble(
        D, "erp", "ReturnInspected", consumer="returns", attempts=8,
        error="TimeoutError: ERP slow", reason="retries_exhausted",
    )  # fmt: skip

    *_, detail = await trouble_entry(hub, dead)

    assert detail == {
        "remote": "erp",
        "consumer": "returns",
        "event_type": "ReturnInspected",
        "attempts": 8,
        "reason": "retries_exhausted",
        "error": "TimeoutError: ERP slow",
    }


def test_every_remote_is_a_timeline_source() -> None:
    assert {"erp", "payment", "crm", "commerce", "hub"} <= set(SOURCES)

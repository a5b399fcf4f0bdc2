"""Folding an order's events gives exactly what the write side renders for each of its returns."""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
import pytest

from application.settings import HubSettings
from domain import commands as c
from domain.allocation import LocationPriority
from domain.return_policy import ReturnPolicies, ReturnPolicy
from domain.returns import Disposition, ReturnLineSpec
from entrypoints.http.resources import return_resource
from ports.views import Document
from read_models.return_view import fold_returns
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.hub import Hub
from tests.unit.read_models.test_order_view import ship

#: Channels whose policy differs from the default (no fee, no shipping, authorized at once).
POLICIES = ReturnPolicies(
    by_channel={
        "b2b": ReturnPolicy(auto_authorize=False),
        "pos": ReturnPolicy(restocking_fee_percent=Decimal("12.5"), refund_shipping=True),
    }
)


#: Events that change a return although their names do not start with `Return`.
RETURN_EVENTS_NAMED_OTHERWISE = frozenset(
    {"RefundIssued", "ReplacementDue", "ExchangeFellBack", "ReplacementPlaced"}
)


def folded(hub: Hub, order_id: UUID) -> dict[str, Document]:
    """The return documents of the order, checking on the way what `fold_returns` answers."""
    documents: dict[str, Document] = {}
    for message in hub.messages(order_id):
        before = copy.deepcopy(documents)
        changed = fold_returns(documents, message)
        return_id = message["payload"].get("return_id")
        event_type = message["event_type"]
        if event_type.startswith("Return") or event_type in RETURN_EVENTS_NAMED_OTHERWISE:
            assert changed == str(return_id)
            assert {k: v for k, v in documents.items() if k != changed} == {
                k: v for k, v in before.items() if k != changed
            }
        else:
            assert changed is None, event_type
            assert documents == before, event_type
    return documents


def rendered(hub: Hub, order_id: UUID) -> dict[str, Any]:
    return {
        str(return_id): msgspec.to_builtins(return_resource(ret))
        for return_id, ret in hub.order(order_id).returns.items()
    }


async def step(hub: Hub, order_id: UUID, command: c.Command) -> Any:
    """Run `command` a little later than the previous one, then compare view and aggregate."""
    hub.clock.advance(timedelta(minutes=7))
    result = await hub.run(command)
    assert folded(hub, order_id) == rendered(hub, order_id)
    return result


async def delivered_order(
    hub: Hub,
    *lines: tuple[str, int, str],
    channel: str = "web",
    shipping: Decimal = Decimal("0"),
) -> UUID:
    """An order of (sku, quantity, unit price) lines, booked, paid, shipped and delivered."""
    for sku, quantity, _ in lines:
        await hub.stock(sku, "dc-east", quantity)
    order_id: UUID = await hub.run(
        PlaceOrderFactory(
            channel=channel,
            lines=tuple(
                LineSpecFactory(sku=sku, quantity=quantity, unit_price=Decimal(price))
                for sku, quantity, price in lines
            ),
            shipping_amount=shipping,
        )
    )
    await hub.run(c.BookOrder(order_id=order_id, erp_order_ref=f"SO-{order_id.hex[:6]}"))
    for i, (sku, quantity, _) in enumerate(lines):
        await hub.run(ship(order_id, f"S{i}", "dc-east", sku, quantity, hub))
    await hub.run(c.CapturePayment(order_id=order_id))
    for i in range(len(lines)):
        await hub.run(
            c.RecordDelivery(order_id=order_id, shipment_id=f"S{i}", delivered_at=hub.clock.now())
        )
    hub.clock.advance(timedelta(days=1))
    return order_id


def request(order_id: UUID, *lines: tuple[str, int], case_id: str | None = None) -> c.Command:
    return c.RequestReturn(
        order_id=order_id,
        lines=tuple(ReturnLineSpec(sku=sku, quantity=q, reason=f"{sku} broke") for sku, q in lines),
        case_id=case_id,
    )


def receive(return_id: UUID, *lines: tuple[str, int]) -> c.Command:
    return c.ReceiveReturn(
        return_id=return_id, lines=tuple(c.SkuCount(sku=sku, quantity=q) for sku, q in lines)
    )


def inspect(return_id: UUID, *lines: tuple[str, Disposition]) -> c.Command:
    return c.InspectReturn(
        return_id=return_id,
        lines=tuple(c.InspectedSku(sku=sku, disposition=d) for sku, d in lines),
    )


def credit_memo(return_id: UUID, ref: str, amount: str) -> c.Command:
    return c.PostCreditMemo(return_id=return_id, credit_memo_ref=ref, amount=Decimal(amount))


@pytest.fixture
def hub() -> Hub:
    return Hub(
        HubSettings(
            location_priority=LocationPriority(("dc-east", "dc-west")),
            reservation_ttl=timedelta(minutes=30),
            return_policies=POLICIES,
        )
    )


async def test_a_refunded_return_folds_to_what_the_aggregate_renders_at_every_step(
    hub: Hub,
) -> None:
    oid = await delivered_order(hub, ("MUG", 2, "12.50"), ("BOWL", 1, "8.00"))
    rid = await step(hub, oid, request(oid, ("MUG", 2), ("BOWL", 1)))
    await step(hub, oid, receive(rid, ("MUG", 2), ("BOWL", 1)))
    await step(hub, oid, inspect(rid, ("MUG", Disposition.RESTOCK), ("BOWL", Disposition.SCRAP)))
    await step(hub, oid, credit_memo(rid, "CM-1", "33.00"))
    await step(hub, oid, c.CloseReturn(return_id=rid))

    view = folded(hub, oid)[str(rid)]
    assert view["status"] == "closed"
    assert view["refund_amount"] == "33.00"
    assert view["credit_memo_ref"] == "CM-1"
    assert [(ln["received"], ln["disposition"]) for ln in view["lines"]] == [
        (2, "restock"),
        (1, "scrap"),
    ]
    assert view["created_at"] < view["updated_at"]


async def test_a_restocking_fee_and_shipping_refund_fold_to_the_same_amount(hub: Hub) -> None:
    oid = await delivered_order(hub, ("LAMP", 1, "19.99"), channel="pos", shipping=Decimal("4.90"))
    rid = await step(hub, oid, request(oid, ("LAMP", 1)))
    await step(hub, oid, receive(rid, ("LAMP", 1)))
    await step(hub, oid, inspect(rid, ("LAMP", Disposition.REFURBISH)))
    refund = hub.order(oid).get_return(rid).refund_amount
    assert refund is not None
    await step(hub, oid, credit_memo(rid, "CM-2", str(refund.amount)))
    await step(hub, oid, c.CloseReturn(return_id=rid))


async def test_rejected_returns_fold_to_what_the_aggregate_renders(hub: Hub) -> None:
    oid = await delivered_order(hub, ("MUG", 3, "12.50"), channel="b2b")
    waiting = await step(hub, oid, request(oid, ("MUG", 1)))
    await step(hub, oid, c.RejectReturn(return_id=waiting, reason="outside policy"))
    authorized = await step(hub, oid, request(oid, ("MUG", 2)))
    await step(hub, oid, c.AuthorizeReturn(return_id=authorized))
    await step(hub, oid, c.RejectReturn(return_id=authorized, reason="never sent"))

    assert [d["status"] for d in folded(hub, oid).values()] == ["rejected", "rejected"]
    assert folded(hub, oid)[str(waiting)]["rma_number"] is None
    assert folded(hub, oid)[str(authorized)]["rma_number"] is not None


async def test_cancelled_returns_fold_to_what_the_aggregate_renders(hub: Hub) -> None:
    oid = await delivered_order(hub, ("MUG", 2, "12.50"), channel="b2b")
    requested = await step(hub, oid, request(oid, ("MUG", 1)))
    await step(hub, oid, c.CancelReturn(return_id=requested))
    authorized = await step(hub, oid, request(oid, ("MUG", 2)))
    await step(hub, oid, c.AuthorizeReturn(return_id=authorized))
    await step(hub, oid, c.CancelReturn(return_id=authorized))


async def test_a_held_then_released_return_folds_to_what_the_aggregate_renders(
    hub: Hub,
) -> None:
    oid = await delivered_order(hub, ("MUG", 2, "12.50"))
    rid = await step(hub, oid, request(oid, ("MUG", 2)))
    await step(hub, oid, receive(rid, ("MUG", 2)))
    await step(hub, oid, inspect(rid, ("MUG", Disposition.RESTOCK)))
    hub.clock.advance(timedelta(minutes=7))
    await hub.run(credit_memo(rid, "CM-0", "1.00"))  # does not match the refund: held
    view, resource = folded(hub, oid)[str(rid)], rendered(hub, oid)[str(rid)]
    assert view["status"] == "on_hold"
    # Everything but the held memo's reference, which ReturnHeld does not carry (see below).
    assert {**view, "credit_memo_ref": "CM-0"} == resource
    await step(hub, oid, c.ReleaseReturnHold(return_id=rid))
    await step(hub, oid, credit_memo(rid, "CM-1", "25.00"))
    await step(hub, oid, c.CloseReturn(return_id=rid))


async def test_a_held_return_shows_the_reference_of_the_held_credit_memo(hub: Hub) -> None:
    oid = await delivered_order(hub, ("MUG", 1, "12.50"))
    rid = await hub.run(request(oid, ("MUG", 1)))
    await hub.run(receive(rid, ("MUG", 1)))
    await hub.run(inspect(rid, ("MUG", Disposition.RESTOCK)))
    await hub.run(credit_memo(rid, "CM-0", "1.00"))

    assert folded(hub, oid) == rendered(hub, oid)


async def test_a_return_with_a_crm_case_folds_to_what_the_aggregate_renders(hub: Hub) -> None:
    oid = await delivered_order(hub, ("MUG", 2, "12.50"))
    await step(hub, oid, c.LinkCase(order_id=oid, case_id="500A00000000000"))
    rid = await step(hub, oid, request(oid, ("MUG", 1), case_id="500B00000000000"))
    await step(
        hub,
        oid,
        c.RecordCaseUpdate(case_id="500B00000000000", return_id=rid, status="Open", note="seen"),
    )
    await step(
        hub,
        oid,
        c.RecordCaseUpdate(case_id="500C00000000000", return_id=rid, status="New", note="other"),
    )
    await step(hub, oid, receive(rid, ("MUG", 1)))

    assert "CaseLinked" in hub.event_types(oid)
    assert folded(hub, oid)[str(rid)]["case_id"] == "500B00000000000"


async def test_two_returns_of_one_order_fold_to_what_the_aggregate_renders(hub: Hub) -> None:
    oid = await delivered_order(hub, ("MUG", 3, "12.50"), ("BOWL", 2, "8.00"))
    first = await step(hub, oid, request(oid, ("MUG", 1)))
    second = await step(hub, oid, request(oid, ("MUG", 2), ("BOWL", 2)))
    await step(hub, oid, receive(second, ("MUG", 2), ("BOWL", 2)))
    await step(hub, oid, receive(first, ("MUG", 1)))
    await step(hub, oid, inspect(first, ("MUG", Disposition.SCRAP)))
    await step(hub, oid, inspect(second, ("MUG", Disposition.RESTOCK), ("BOWL", Disposition.SCRAP)))
    await step(hub, oid, credit_memo(second, "CM-2", "41.00"))
    await step(hub, oid, credit_memo(first, "CM-1", "12.50"))
    await step(hub, oid, c.CloseReturn(return_id=first))

    assert set(folded(hub, oid)) == {str(first), str(second)}


async def test_a_partial_receipt_folds_to_what_the_aggregate_renders(hub: Hub) -> None:
    oid = await delivered_order(hub, ("MUG", 3, "12.50"), ("BOWL", 1, "8.00"))
    rid = await step(hub, oid, request(oid, ("MUG", 3), ("BOWL", 1)))
    await step(hub, oid, receive(rid, ("MUG", 1)))
    await step(hub, oid, inspect(rid, ("MUG", Disposition.RESTOCK)))
    await step(hub, oid, credit_memo(rid, "CM-1", "12.50"))

    view = folded(hub, oid)[str(rid)]
    assert [(ln["sku"], ln["received"], ln["disposition"]) for ln in view["lines"]] == [
        ("MUG", 1, "restock"),
        ("BOWL", 0, None),
    ]


async def test_an_event_about_no_return_changes_nothing(hub: Hub) -> None:
    oid = await delivered_order(hub, ("MUG", 1, "12.50"))
    rid = await hub.run(request(oid, ("MUG", 1)))
    documents: dict[str, Document] = {}
    for message in hub.messages(oid):
        fold_returns(documents, message)
    before = copy.deepcopy(documents)
    await hub.run(c.LinkCase(order_id=oid, case_id="500A00000000000"))

    assert fold_returns(documents, hub.messages(oid)[-1]) is None
    assert documents == before
    assert list(documents) == [str(rid)]

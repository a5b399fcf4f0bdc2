"""An order's bounds: CRM cases it links, returns it takes (withdrawn ones too), case id shape."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain.errors import TooManyCases, TooManyReturns, ValidationFailed
from domain.events import CaseLinked
from domain.order import Order
from domain.order_limits import OrderLimits
from domain.return_policy import ReturnPolicy
from domain.returns import Return, ReturnLineSpec
from tests.factories import case_id
from tests.unit.domain.builders import NOW, delivered, event_types, line, state_of

LATER = NOW + timedelta(days=3)

TWO = OrderLimits(max_cases=2, max_returns=2)


def mugs() -> Order:
    order, _ = delivered(line("MUG", 3, "19.99"))
    return order


def request(
    order: Order, limits: OrderLimits = TWO, case: str | None = None, reason: str = "too small"
) -> Return:
    return order.request_return(
        return_id=uuid4(),
        lines=[ReturnLineSpec(sku="MUG", quantity=1, reason=reason)],
        policy=ReturnPolicy(),
        rma_number=f"RMA-{len(order.returns) + 1}",
        now=LATER,
        case_id=case,
        limits=limits,
    )


# -- CRM cases -------------------------------------------------------------------------------


def test_an_order_links_no_more_cases_than_its_limit_and_the_refusal_changes_nothing() -> None:
    order = mugs()
    order.link_case(case_id(1), LATER, limits=TWO)
    order.link_case(case_id(2), LATER, limits=TWO)
    before = state_of(order)

    with pytest.raises(TooManyCases) as refused:
        order.link_case(case_id(3), LATER, limits=TWO)

    assert (refused.value.code, refused.value.context()) == ("too_many_cases", {"limit": 2})
    assert state_of(order) == before


def test_relinking_a_case_at_the_limit_is_still_harmless() -> None:
    order = mugs()
    order.link_case(case_id(1), LATER, limits=OrderLimits(max_cases=1))

    order.link_case(case_id(1), LATER, limits=OrderLimits(max_cases=1))

    assert order.case_ids == [case_id(1)]


def test_the_crm_s_own_case_update_counts_toward_the_limit_too() -> None:
    order = mugs()
    order.link_case(case_id(1), LATER, limits=OrderLimits(max_cases=1))

    with pytest.raises(TooManyCases):
        order.record_case_update(case_id(2), "Open", "", LATER, limits=OrderLimits(max_cases=1))
    assert order.case_ids == [case_id(1)]


@pytest.mark.parametrize(
    "bad",
    ["CASE-1", "500' OR Id != '", "5000000000001", "5000000000000001", "500000000000/../x"],
    ids=["word", "soql", "too-short", "between-15-and-18", "path"],
)
def test_a_case_id_the_crm_would_refuse_is_refused_when_linked(bad: str) -> None:
    order = mugs()
    before = state_of(order)

    with pytest.raises(ValidationFailed) as refused:
        order.link_case(bad, LATER)

    assert [i.field for i in refused.value.issues] == ["case_id"]
    assert state_of(order) == before


@pytest.mark.parametrize("good", ["500000000000001", "5003000000D8cuIAAR"], ids=["15", "18"])
def test_a_salesforce_case_id_of_15_or_18_characters_is_linked(good: str) -> None:
    order = mugs()

    order.link_case(good, LATER)

    assert order.case_ids == [good]
    assert isinstance(order.pull_events()[-1], CaseLinked)


def test_a_return_naming_a_case_id_the_crm_would_refuse_is_refused_whole() -> None:
    order = mugs()
    before = state_of(order)

    with pytest.raises(ValidationFailed) as refused:
        request(order, case="CASE-7")

    assert [i.field for i in refused.value.issues] == ["case_id"]
    assert state_of(order) == before


def test_a_return_that_would_link_a_case_past_the_limit_is_refused_whole() -> None:
    order = mugs()
    order.link_case(case_id(1), LATER, limits=OrderLimits(max_cases=1))
    before = state_of(order)

    with pytest.raises(TooManyCases):
        request(order, OrderLimits(max_cases=1), case=case_id(2))

    assert state_of(order) == before


# -- returns ---------------------------------------------------------------------------------


def test_cancelled_returns_count_toward_the_limit_so_request_and_cancel_cannot_loop() -> None:
    order = mugs()
    for _ in range(2):
        order.cancel_return(request(order).id, LATER)
    before = state_of(order)

    with pytest.raises(TooManyReturns) as refused:
        request(order)

    assert (refused.value.code, refused.value.context()) == ("too_many_returns", {"limit": 2})
    assert state_of(order) == before
    assert order.returnable("MUG") == 3


def test_a_withdrawn_return_lets_go_of_its_lines_and_claims_nothing() -> None:
    order = mugs()
    cancelled, rejected = request(order, OrderLimits()), request(order, OrderLimits())

    order.cancel_return(cancelled.id, LATER)
    order.reject_return(rejected.id, "not ours", LATER)

    assert (cancelled.status, cancelled.lines) == ("cancelled", [])
    assert (rejected.status, rejected.lines) == ("rejected", [])
    assert cancelled.is_withdrawn
    assert rejected.is_withdrawn
    assert order.returnable("MUG") == 3
    assert event_types(order)[-2:] == ["ReturnCancelled", "ReturnRejected"]
    assert request(order, OrderLimits()).lines[0].quantity == 1

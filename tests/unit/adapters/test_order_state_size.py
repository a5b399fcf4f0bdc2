"""What a request → cancel loop costs the order's stored state (the row every command rewrites)."""

from __future__ import annotations

import json
from datetime import timedelta
from uuid import uuid4

from adapters.sql.order_record import order_state
from domain.order_limits import DEFAULT_LIMITS
from domain.return_policy import ReturnPolicy
from domain.returns import ReturnLineSpec
from tests.unit.domain.builders import NOW, delivered, line

LATER = NOW + timedelta(days=3)


def test_requesting_and_cancelling_the_largest_returns_to_the_limit_leaves_the_state_small() -> (
    None
):
    order, _ = delivered(*(line(f"SKU-{i:03d}", 1, "9.99") for i in range(500)))
    largest = [ReturnLineSpec(sku=ln.sku, quantity=1, reason="r" * 500) for ln in order.lines]
    before = len(json.dumps(order_state(order)))

    for n in range(DEFAULT_LIMITS.max_returns):
        ret = order.request_return(
            return_id=uuid4(), lines=largest, policy=ReturnPolicy(), rma_number=f"RMA-{n}",
            now=LATER,
        )  # fmt: skip
        order.cancel_return(ret.id, LATER)

    grown = len(json.dumps(order_state(order))) - before
    # Each cancelled request of ~290 KB leaves a stub of a few hundred bytes.
    assert grown < DEFAULT_LIMITS.max_returns * 1_000, grown

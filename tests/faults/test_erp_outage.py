"""Scenario 5: the ERP down (503 to everything) for 20 s under a steady order load, then back.
The circuit opens, so the ERP is not hammered; orders wait in `reserved`; once the ERP answers
they are booked once each, and the ones that waited are booked in the order they were placed."""

from __future__ import annotations

import itertools
import time

import pytest

from tests.faults.conftest import StackFactory
from tests.faults.load import SteadyLoad
from tests.faults.reconcile import Expect, query, report, settle

pytestmark = pytest.mark.faults

OUTAGE_SECONDS = 20


def test_orders_wait_through_an_erp_outage_then_are_booked_in_order_once(
    make_stack: StackFactory,
) -> None:
    stack = make_stack()
    erp = stack.erp
    with SteadyLoad(stack.url, stack.keys.web, rate=15) as load:
        time.sleep(4)
        booked_before = set(erp.bookings())
        requests_before = len(erp.requests)
        erp.down = True
        time.sleep(OUTAGE_SECONDS)
        during = {
            r["status"]: int(r["n"])
            for r in query(stack.db_url, "SELECT status, count(*) AS n FROM orders GROUP BY status")
        }
        calls_while_down = len(erp.requests) - requests_before
        booked_while_down = set(erp.bookings()) - booked_before
        placed_while_down = load.accepted()
        erp.down = False
        fault_end = time.monotonic()
        time.sleep(4)
    counts = settle(stack.db_url, Expect(load.operations, erp=erp), since=fault_end)

    created = {
        r["id"]: float(r["t"])
        for r in query(
            stack.db_url, "SELECT id::text, extract(epoch FROM created_at) AS t FROM orders"
        )
    }
    waited = [o for o in erp.bookings() if o not in booked_before]
    out_of_order = sum(1 for a, b in itertools.pairwise(waited) if created[a] > created[b])
    report(
        "5 ERP outage 20s",
        counts,
        f"waiting in reserved at the end of the outage={during.get('reserved', 0)} "
        f"ERP calls while down={calls_while_down} (orders accepted by then={placed_while_down}) "
        f"booked after the outage={len(waited)} out of placement order={out_of_order}",
    )
    assert counts.holds, counts.explain()
    assert not booked_while_down
    assert during.get("reserved", 0) > 0
    # The circuit opens: far fewer calls than the orders that wanted the ERP meanwhile.
    assert calls_while_down < during.get("reserved", 0)
    assert out_of_order == 0

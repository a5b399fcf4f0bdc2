"""The simulated ERP: one decision per order, changes once each, credit memos reported back."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest

from adapters.clock import FixedClock
from adapters.simulators.agenda import Redelivery
from adapters.simulators.erp import ErpBehaviour, SimulatedErp
from adapters.simulators.faults import FaultModel, FaultProfile, Outage
from ports.erp import ErpPort, ErpReturn
from ports.remote import RemoteRejected, RemoteUnavailable
from tests.unit.simulators.worlds import (
    START,
    a_return,
    an_order,
    has_the_inbound_shape,
    with_retries,
)

NO_DELAY = (timedelta(0), timedelta(0))


def an_erp(clock: FixedClock | None = None, **behaviour: object) -> SimulatedErp:
    return SimulatedErp(
        clock=clock or FixedClock(START),
        seed=1,
        behaviour=ErpBehaviour(**behaviour),  # type: ignore[arg-type]
    )


async def test_it_implements_the_erp_port() -> None:
    erp: ErpPort = an_erp()
    assert (await erp.submit_order(an_order())).booked


async def test_orders_are_booked_under_consecutive_erp_refs() -> None:
    erp = an_erp()
    decisions = [await erp.submit_order(an_order(n)) for n in (1, 2, 3)]
    assert [d.erp_order_ref for d in decisions] == ["ERP-000001", "ERP-000002", "ERP-000003"]
    assert [b.erp_order_ref for b in erp.bookings()] == ["ERP-000001", "ERP-000002", "ERP-000003"]


async def test_the_same_order_submitted_again_gets_the_same_decision() -> None:
    erp = an_erp()
    first = await erp.submit_order(an_order(1))
    await erp.submit_order(an_order(2))
    assert await erp.submit_order(an_order(1)) == first
    assert (erp.stats.orders_booked, erp.stats.duplicate_submissions) == (2, 1)


async def test_an_order_submitted_before_an_outage_keeps_its_decision_after_it() -> None:
    clock = FixedClock(START)
    outage = Outage(START + timedelta(minutes=1), START + timedelta(minutes=30))
    erp = SimulatedErp(clock=clock, faults=FaultModel(FaultProfile(outages=(outage,)), clock=clock))
    first = await erp.submit_order(an_order(1))

    clock.advance(timedelta(minutes=5))
    with pytest.raises(RemoteUnavailable):
        await erp.submit_order(an_order(1))
    clock.advance(timedelta(minutes=30))

    assert await erp.submit_order(an_order(1)) == first
    assert erp.stats.orders_booked == 1


async def test_a_lost_reply_books_once_and_the_retry_gets_the_booking() -> None:
    faults = FaultModel(FaultProfile(lost_reply_rate=0.5), seed=4)
    erp = SimulatedErp(clock=FixedClock(START), faults=faults)

    decisions = [await with_retries(partial(erp.submit_order, an_order(n))) for n in range(40)]

    assert faults.stats.lost_replies > 0
    assert len({d.erp_order_ref for d in decisions}) == 40
    assert erp.stats.orders_booked == 40
    assert erp.stats.duplicate_submissions == faults.stats.lost_replies


async def test_the_counters_reconcile_under_failures() -> None:
    faults = FaultModel(FaultProfile(failure_rate=0.3, lost_reply_rate=0.3), seed=9)
    erp = SimulatedErp(
        clock=FixedClock(START),
        faults=faults,
        behaviour=ErpBehaviour(rejected_skus=frozenset({"BAD"})),
    )
    for n in range(60):
        order = an_order(n, {"BAD": 1} if n % 5 == 0 else {"MUG": 1})
        await with_retries(partial(erp.submit_order, order))

    s = erp.stats
    assert (s.orders_booked, s.orders_rejected) == (48, 12)
    assert s.submissions_received == s.orders_booked + s.orders_rejected + s.duplicate_submissions
    assert s.duplicate_submissions == faults.stats.lost_replies
    assert faults.stats.calls == s.submissions_received + faults.stats.transient_failures


async def test_orders_with_a_rejected_sku_are_rejected_and_not_booked() -> None:
    erp = an_erp(rejected_skus=frozenset({"DISCONTINUED", "RECALLED"}))
    decision = await erp.submit_order(an_order(1, {"MUG": 1, "RECALLED": 1, "DISCONTINUED": 2}))
    assert not decision.booked
    assert decision.rejection_reason == "unknown items DISCONTINUED, RECALLED"
    assert erp.bookings() == []
    assert await erp.submit_order(an_order(1, {"MUG": 1, "RECALLED": 1, "DISCONTINUED": 2})) == (
        decision
    )


async def test_a_rejected_order_that_comes_back_changed_is_decided_again() -> None:
    erp = an_erp(rejected_skus=frozenset({"RECALLED"}))
    assert not (await erp.submit_order(an_order(1, {"MUG": 1, "RECALLED": 1}))).booked
    fixed = await erp.submit_order(an_order(1, {"MUG": 1}))
    assert fixed.erp_order_ref == "ERP-000001"
    assert await erp.submit_order(an_order(1, {"MUG": 1, "RECALLED": 1})) == fixed


async def test_the_rejection_rate_is_seeded_per_order() -> None:
    async def rejected(seed: int) -> list[int]:
        erp = SimulatedErp(
            clock=FixedClock(START), seed=seed, behaviour=ErpBehaviour(rejection_rate=0.25)
        )
        return [n for n in range(200) if not (await erp.submit_order(an_order(n))).booked]

    assert await rejected(3) == await rejected(3)
    assert await rejected(3) != await rejected(4)
    # 200 orders at 25 %: σ ≈ 6.1; ±5σ
    assert abs(len(await rejected(3)) - 50) <= 31


async def test_the_rejection_of_an_order_does_not_depend_on_what_came_before() -> None:
    behaviour = ErpBehaviour(rejection_rate=0.5)
    forward = SimulatedErp(clock=FixedClock(START), seed=8, behaviour=behaviour)
    backward = SimulatedErp(clock=FixedClock(START), seed=8, behaviour=behaviour)
    ahead = {n: (await forward.submit_order(an_order(n))).booked for n in range(50)}
    behind = {n: (await backward.submit_order(an_order(n))).booked for n in reversed(range(50))}
    assert ahead == behind


async def test_each_booking_is_announced_once_as_order_booked() -> None:
    clock = FixedClock(START)
    erp = an_erp(clock, booking_report_delay=(timedelta(seconds=10), timedelta(seconds=10)))
    await erp.submit_order(an_order(1))
    await erp.submit_order(an_order(1))

    assert erp.due_events(START + timedelta(seconds=9)) == []
    [(source, event)] = erp.due_events(START + timedelta(seconds=10))
    assert source == "erp"
    assert has_the_inbound_shape(event)
    assert event["type"] == "order.booked"
    assert event["occurred_at"] == "2026-11-02T09:00:00Z"
    assert event["data"] == {"order_id": str(an_order(1).order_id), "erp_order_ref": "ERP-000001"}
    assert erp.due_events(START + timedelta(days=1)) == []


async def test_bookings_are_not_announced_when_told_not_to() -> None:
    erp = an_erp(announce_bookings=False)
    await erp.submit_order(an_order(1))
    assert erp.next_due() is None


async def test_an_announcement_may_come_twice_with_the_same_event_id() -> None:
    erp = an_erp(redelivery=Redelivery(rate=1.0))
    await erp.submit_order(an_order(1))
    events = erp.due_events(START + timedelta(days=1))
    assert len(events) == 2
    assert events[0] == events[1]


async def test_amendments_replace_the_order_and_are_recorded_once() -> None:
    erp = an_erp()
    ref = (await erp.submit_order(an_order(1, {"MUG": 3}))).erp_order_ref
    assert ref is not None
    smaller = an_order(1, {"MUG": 1})
    await erp.amend_order(smaller, ref)
    await erp.amend_order(smaller, ref)
    assert erp.order(smaller.order_id) == smaller
    assert [a.order for a in erp.amendments()] == [smaller]
    assert erp.stats.duplicates_suppressed == 1


async def test_cancellations_are_recorded_once() -> None:
    erp = an_erp()
    ref = (await erp.submit_order(an_order(1))).erp_order_ref
    assert ref is not None
    await erp.cancel_order(an_order(1).order_id, ref, "customer changed their mind")
    await erp.cancel_order(an_order(1).order_id, ref, "customer changed their mind")
    assert erp.cancellation_reason(an_order(1).order_id) == "customer changed their mind"
    assert (erp.stats.cancellations, erp.stats.duplicates_suppressed) == (1, 1)


async def test_a_cancelled_order_cannot_be_amended() -> None:
    erp = an_erp()
    ref = (await erp.submit_order(an_order(1))).erp_order_ref
    assert ref is not None
    await erp.cancel_order(an_order(1).order_id, ref, "fraud")
    with pytest.raises(RemoteRejected, match="cancelled"):
        await erp.amend_order(an_order(1, {"MUG": 1}), ref)


async def test_a_shipped_order_can_be_neither_amended_nor_cancelled() -> None:
    erp = an_erp()
    ref = (await erp.submit_order(an_order(1))).erp_order_ref
    assert ref is not None
    erp.mark_dispatched(an_order(1).order_id, START)
    with pytest.raises(RemoteRejected, match="shipped"):
        await erp.amend_order(an_order(1, {"MUG": 1}), ref)
    with pytest.raises(RemoteRejected, match="shipped"):
        await erp.cancel_order(an_order(1).order_id, ref, "too late")
    await erp.amend_order(an_order(1), ref)  # the order as booked: a harmless repeat


async def test_changes_to_an_order_it_never_booked_are_refused() -> None:
    erp = an_erp()
    ref = (await erp.submit_order(an_order(1))).erp_order_ref
    assert ref is not None
    with pytest.raises(RemoteRejected):
        await erp.cancel_order(an_order(2).order_id, ref, "wrong order")
    with pytest.raises(RemoteRejected):
        await erp.amend_order(an_order(1), "ERP-999999")
    with pytest.raises(RemoteRejected):
        await erp.authorize_return(a_return(an_order(1), "ERP-999999"))


async def test_return_authorizations_are_opened_once() -> None:
    erp = an_erp()
    order = an_order(1)
    ref = (await erp.submit_order(order)).erp_order_ref
    assert ref is not None
    ret = a_return(order, ref)
    await erp.authorize_return(ret)
    await erp.authorize_return(ret)
    assert [a.ret for a in erp.return_authorizations()] == [ret]
    assert erp.stats.returns_authorized == 1


async def booked_and_authorized(erp: SimulatedErp) -> tuple[str, ErpReturn]:
    order = an_order(1)
    ref = (await erp.submit_order(order)).erp_order_ref
    assert ref is not None
    ret = a_return(order, ref)
    await erp.authorize_return(ret)
    return ref, ret


async def test_a_credit_memo_request_is_answered_later_with_the_same_amount() -> None:
    clock = FixedClock(START)
    erp = an_erp(
        clock,
        announce_bookings=False,
        credit_memo_delay=(timedelta(minutes=20), timedelta(minutes=20)),
    )
    _, ret = await booked_and_authorized(erp)
    return_id = ret.return_id
    clock.advance(timedelta(hours=1))

    await erp.request_credit_memo(return_id, Decimal("25.00"), "EUR")
    await erp.request_credit_memo(return_id, Decimal("25.00"), "EUR")

    assert erp.due_events(clock.now() + timedelta(minutes=19)) == []
    [(source, event)] = erp.due_events(clock.now() + timedelta(days=1))
    assert source == "erp"
    assert has_the_inbound_shape(event)
    assert event["type"] == "credit_memo.posted"
    assert event["occurred_at"] == "2026-11-02T10:20:00Z"
    assert event["data"] == {
        "return_id": str(return_id),
        "credit_memo_ref": "CM-000001",
        "amount": "25.00",
    }
    assert erp.stats.credit_memos == 1


async def test_a_credit_memo_for_an_unknown_return_is_refused() -> None:
    erp = an_erp()
    with pytest.raises(RemoteRejected, match="no return"):
        await erp.request_credit_memo(a_return(an_order(1), "ERP-1").return_id, Decimal(1), "EUR")


async def test_mismatched_credit_memos_come_at_the_configured_seeded_rate() -> None:
    async def amounts(seed: int) -> list[str]:
        erp = SimulatedErp(
            clock=FixedClock(START),
            seed=seed,
            behaviour=ErpBehaviour(announce_bookings=False, credit_memo_mismatch_rate=0.3),
        )
        for n in range(100):
            order = an_order(n)
            ref = (await erp.submit_order(order)).erp_order_ref
            assert ref is not None
            ret = a_return(order, ref, n)
            await erp.authorize_return(ret)
            await erp.request_credit_memo(ret.return_id, Decimal("40.00"), "EUR")
        events = erp.due_events(START + timedelta(days=1))
        return [event["data"]["amount"] for _, event in events]

    posted = await amounts(5)
    assert posted == await amounts(5)
    wrong = [amount for amount in posted if amount != "40.00"]
    assert set(wrong) == {"36.00"}
    assert abs(len(wrong) - 30) <= 23  # 100 at 30 %: σ ≈ 4.6, ±5σ


async def test_a_zero_credit_memo_mismatches_by_a_cent() -> None:
    erp = an_erp(announce_bookings=False, credit_memo_mismatch_rate=1.0)
    _, ret = await booked_and_authorized(erp)
    await erp.request_credit_memo(ret.return_id, Decimal("0.00"), "EUR")
    [(_, event)] = erp.due_events(START + timedelta(days=1))
    assert event["data"]["amount"] == "0.01"

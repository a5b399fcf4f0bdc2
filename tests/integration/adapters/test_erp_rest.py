"""The REST ERP adapter against a fake ERP on a loopback socket: the documented contract,
retries, permanent refusals, timeouts, refused connections and the circuit breaker."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from uuid import uuid4

import pytest
from opentelemetry.trace import SpanKind

from adapters.http.erp_rest import RestErp
from adapters.http.resilience import CircuitOpen, CircuitState
from ports.correlation import correlated
from ports.erp import ErpLine, ErpReturn
from ports.remote import RemoteRejected, RemoteUnavailable
from tests.integration.adapters.builders import an_order
from tests.integration.adapters.conftest import COOL_DOWN
from tests.integration.adapters.fake_erp import FakeErp
from tests.integration.adapters.live_server import refused_url
from tests.integration.adapters.scripted import Fault
from tests.tracing import finished, recording
from tests.unit.adapters.timing import FakeMonotonic, RecordedSleeps

MakeErp = Callable[..., RestErp]


async def test_an_order_is_put_under_our_id_and_booked(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    order = an_order("SKU-1", "SKU-2")
    decision = await make_erp().submit_order(order)
    assert decision.booked
    assert decision.erp_order_ref == "ERP-000001"
    [request] = fake_erp.requests
    assert request.line == f"PUT /orders/{order.order_id}"
    assert request.headers["authorization"] == "Bearer erp-key"
    assert request.body["total"] == "79.96"
    assert request.body["lines"][0] == {
        "sku": "SKU-1", "quantity": 2, "unit_price": "19.99", "location": "dc-east",
    }  # fmt: skip
    assert request.body["shipping_address"]["line2"] is None


async def test_a_line_split_across_locations_is_sent_once_per_location(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    east, west = (
        ErpLine(sku="SKU-1", quantity=q, unit_price=Decimal("19.99"), location=where)
        for q, where in ((2, "dc-east"), (1, "dc-west"))
    )
    order = replace(an_order(), lines=(east, west), total=Decimal("59.97"))

    decision = await make_erp().submit_order(order)

    assert decision.booked
    assert fake_erp.orders[str(order.order_id)]["lines"] == [
        {"sku": "SKU-1", "quantity": 2, "unit_price": "19.99", "location": "dc-east"},
        {"sku": "SKU-1", "quantity": 1, "unit_price": "19.99", "location": "dc-west"},
    ]


async def test_a_taxed_line_carries_its_tax_per_unit_and_an_untaxed_one_none(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    taxed = ErpLine(
        sku="SKU-1", quantity=2, unit_price=Decimal("10.00"), tax_amount=Decimal("2.00"),
        location="dc-east",
    )  # fmt: skip
    untaxed = ErpLine(sku="SKU-2", quantity=1, unit_price=Decimal("5.00"), location="dc-east")
    order = replace(an_order(), lines=(taxed, untaxed), total=Decimal("29.00"))

    await make_erp().submit_order(order)

    assert fake_erp.orders[str(order.order_id)]["lines"] == [
        {"sku": "SKU-1", "quantity": 2, "unit_price": "10.00", "tax_amount": "2.00",
         "location": "dc-east"},
        {"sku": "SKU-2", "quantity": 1, "unit_price": "5.00", "location": "dc-east"},
    ]  # fmt: skip


async def test_a_split_line_of_a_rejected_sku_names_it_once(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    fake_erp.rejected_skus.add("SKU-1")
    order = an_order("SKU-1")
    split = replace(order, lines=(*order.lines, replace(order.lines[0], location="dc-west")))

    decision = await make_erp().submit_order(split)

    assert decision.rejection_reason == "unknown items SKU-1"


async def test_a_repeated_submission_books_nothing_new(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    erp, order = make_erp(), an_order()
    first = await erp.submit_order(order)
    again = await erp.submit_order(order)
    assert first == again
    assert len(fake_erp.booked()) == 1
    assert len(fake_erp.requests) == 2


async def test_an_order_the_erp_declines_comes_back_as_a_rejection(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    fake_erp.rejected_skus = {"SKU-X"}
    decision = await make_erp().submit_order(an_order("SKU-1", "SKU-X"))
    assert not decision.booked
    assert decision.rejection_reason == "unknown items SKU-X"
    assert len(fake_erp.requests) == 1


async def test_an_invalid_request_is_refused_without_retrying_or_opening_the_circuit(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    erp = make_erp(threshold=1)
    fake_erp.fail_next(Fault(422, {"title": "invalid order", "errors": ["total is wrong"]}))
    with pytest.raises(RemoteRejected, match="invalid"):
        await erp.submit_order(an_order())
    assert len(fake_erp.requests) == 1
    assert erp.breaker.state is CircuitState.CLOSED


async def test_a_wrong_api_key_is_refused_for_good(make_erp: MakeErp, fake_erp: FakeErp) -> None:
    with pytest.raises(RemoteRejected, match="401"):
        await make_erp(api_key="wrong").submit_order(an_order())
    assert len(fake_erp.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retried_until_the_erp_books(
    make_erp: MakeErp, fake_erp: FakeErp, sleeps: RecordedSleeps, status: int
) -> None:
    fake_erp.fail_next(Fault(status), Fault(status))
    decision = await make_erp(attempts=3).submit_order(an_order())
    assert decision.booked
    assert len(fake_erp.requests) == 3
    assert sleeps.delays == pytest.approx([0.1, 0.2])
    assert len(fake_erp.booked()) == 1


async def test_a_429_is_retried_after_the_pause_the_erp_asked_for(
    make_erp: MakeErp, fake_erp: FakeErp, sleeps: RecordedSleeps
) -> None:
    fake_erp.fail_next(Fault(429, {"title": "slow down"}, {"Retry-After": "4"}))
    assert (await make_erp().submit_order(an_order())).booked
    assert sleeps.delays == pytest.approx([4.1])  # 4 s asked, plus up to base_delay of jitter


async def test_a_retry_after_beyond_the_cap_is_left_to_the_message_retry(
    make_erp: MakeErp, fake_erp: FakeErp, sleeps: RecordedSleeps
) -> None:
    fake_erp.fail_next(Fault(503, None, {"Retry-After": "120"}))
    with pytest.raises(RemoteUnavailable) as raised:
        await make_erp().submit_order(an_order())
    assert getattr(raised.value, "retry_after", None) == 120.0
    assert (len(fake_erp.requests), sleeps.delays) == (1, [])


async def test_retries_are_bounded(make_erp: MakeErp, fake_erp: FakeErp) -> None:
    fake_erp.fail_always(Fault(500))
    with pytest.raises(RemoteUnavailable, match="500"):
        await make_erp(attempts=4).submit_order(an_order())
    assert len(fake_erp.requests) == 4


async def test_a_success_without_a_booking_is_not_taken_for_one(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    fake_erp.fail_next(Fault(200, {"status": "queued"}), Fault(200, "<html>maintenance</html>"))
    with pytest.raises(RemoteUnavailable, match="without a booking"):
        await make_erp(attempts=1).submit_order(an_order())
    with pytest.raises(RemoteUnavailable):
        await make_erp(attempts=1).submit_order(an_order())


# -- changes, cancellations and returns ---------------------------------------------------------


async def test_amendments_are_put_whole_and_a_repeat_changes_nothing(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    erp, order = make_erp(), an_order("SKU-1", "SKU-2")
    ref = (await erp.submit_order(order)).erp_order_ref or ""
    reduced = replace(order, lines=order.lines[:1], total=Decimal("39.98"))
    await erp.amend_order(reduced, ref)
    await erp.amend_order(reduced, ref)
    moved = replace(reduced, shipping_address=replace(order.shipping_address, city="Leeds"))
    await erp.amend_order(moved, ref)
    versions = fake_erp.amendments[str(order.order_id)]
    assert [(len(v["lines"]), v["shipping_address"]["city"]) for v in versions] == [
        (1, "London"), (1, "Leeds"),
    ]  # fmt: skip
    assert fake_erp.seen("amendment")[0].body["erp_order_ref"] == ref


async def test_an_amendment_under_the_wrong_erp_reference_is_refused(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    erp, order = make_erp(), an_order()
    await erp.submit_order(order)
    with pytest.raises(RemoteRejected, match="409"):
        await erp.amend_order(order, "ERP-999999")


async def test_a_cancellation_carries_an_idempotency_key_and_happens_once(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    erp, order = make_erp(), an_order()
    ref = (await erp.submit_order(order)).erp_order_ref or ""
    await erp.cancel_order(order.order_id, ref, "customer changed their mind")
    await erp.cancel_order(order.order_id, ref, "customer changed their mind")
    keys = {s.headers["idempotency-key"] for s in fake_erp.seen("cancellation")}
    assert keys == {f"{order.order_id}/cancellation"}
    assert fake_erp.cancellations == {
        str(order.order_id): {"erp_order_ref": ref, "reason": "customer changed their mind"}
    }


async def test_a_cancellation_whose_reply_was_lost_is_retried_harmlessly(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    erp, order = make_erp(), an_order()
    ref = (await erp.submit_order(order)).erp_order_ref or ""
    fake_erp.fail_next(Fault(502, match="cancellation", commit=True))
    await erp.cancel_order(order.order_id, ref, "fraud")
    assert len(fake_erp.seen("cancellation")) == 2
    assert len(fake_erp.cancellations) == 1


async def test_a_return_is_authorized_under_our_rma_once_and_credited_once(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    erp, order = make_erp(), an_order()
    ref = (await erp.submit_order(order)).erp_order_ref or ""
    ret = ErpReturn(
        return_id=uuid4(), order_id=order.order_id, erp_order_ref=ref, rma_number="RMA-000042",
        lines=(ErpLine(sku="SKU-1", quantity=1, unit_price=Decimal("19.99")),),
    )  # fmt: skip
    for _ in range(2):
        await erp.authorize_return(ret)
        await erp.request_credit_memo(ret.return_id, Decimal("19.99"), "EUR")
    assert list(fake_erp.returns) == [str(ret.return_id)]
    assert fake_erp.returns[str(ret.return_id)]["rma_number"] == "RMA-000042"
    assert fake_erp.credit_memo_requests == {
        str(ret.return_id): {"amount": "19.99", "currency": "EUR"}
    }
    with pytest.raises(RemoteRejected, match="409"):
        await erp.request_credit_memo(ret.return_id, Decimal("5.00"), "EUR")


# -- the wire: timeouts, deadlines, refused connections -------------------------------------------


async def test_a_stalled_answer_times_out_and_the_retry_books(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    fake_erp.fail_next(Fault(None, stall=3.0))
    started = time.monotonic()
    decision = await make_erp(timeout=0.2).submit_order(an_order())
    assert decision.booked
    assert time.monotonic() - started < 2.0
    assert len(fake_erp.requests) == 2


async def test_a_booking_whose_reply_timed_out_is_not_booked_twice(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    order = an_order()
    fake_erp.fail_next(Fault(None, commit=True, stall=3.0))
    decision = await make_erp(timeout=0.2).submit_order(order)
    assert decision.erp_order_ref == "ERP-000001"
    assert fake_erp.booked() == {str(order.order_id): "ERP-000001"}


async def test_an_erp_that_never_answers_in_time_is_unavailable(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    fake_erp.fail_always(Fault(None, stall=3.0), times=2)
    with pytest.raises(RemoteUnavailable, match="ReadTimeout"):
        await make_erp(timeout=0.2, attempts=2).submit_order(an_order())
    assert len(fake_erp.requests) == 2


async def test_a_trickling_answer_is_cut_off_by_the_deadline(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    fake_erp.fail_next(Fault(None, drip=0.05, drip_bytes=60))
    started = time.monotonic()
    with pytest.raises(RemoteUnavailable, match=r"no answer within 0\.3s"):
        await make_erp(timeout=1.0, deadline=0.3, attempts=1).submit_order(an_order())
    assert time.monotonic() - started < 1.5


async def test_a_refused_connection_is_transient_and_retried(
    make_erp: MakeErp, sleeps: RecordedSleeps
) -> None:
    erp = make_erp(base_url=refused_url(), attempts=3)
    with pytest.raises(RemoteUnavailable, match="ConnectError"):
        await erp.submit_order(an_order())
    assert len(sleeps.delays) == 2
    assert erp.breaker.consecutive_failures == 3


# -- the circuit breaker -------------------------------------------------------------------------


async def test_the_circuit_opens_fails_fast_then_half_opens_and_closes(
    make_erp: MakeErp, fake_erp: FakeErp, clock: FakeMonotonic
) -> None:
    erp = make_erp(attempts=1, threshold=3)
    fake_erp.fail_always(Fault(503), times=3)
    for _ in range(3):
        with pytest.raises(RemoteUnavailable, match="503"):
            await erp.submit_order(an_order())
    assert erp.breaker.state is CircuitState.OPEN

    for _ in range(5):
        with pytest.raises(CircuitOpen):
            await erp.submit_order(an_order())
    assert len(fake_erp.requests) == 3  # the open circuit never reached the ERP

    clock.advance(COOL_DOWN)
    assert erp.breaker.status().state is CircuitState.HALF_OPEN
    assert (await erp.submit_order(an_order())).booked
    assert len(fake_erp.requests) == 4
    assert erp.breaker.status().state is CircuitState.CLOSED
    assert erp.breaker.consecutive_failures == 0


async def test_a_failed_probe_keeps_the_circuit_open(
    make_erp: MakeErp, fake_erp: FakeErp, clock: FakeMonotonic
) -> None:
    erp = make_erp(attempts=1, threshold=2)
    fake_erp.fail_always(Fault(502), times=3)
    for _ in range(2):
        with pytest.raises(RemoteUnavailable):
            await erp.submit_order(an_order())
    clock.advance(COOL_DOWN)
    with pytest.raises(RemoteUnavailable, match="502"):
        await erp.submit_order(an_order())
    with pytest.raises(CircuitOpen):
        await erp.submit_order(an_order())
    assert len(fake_erp.requests) == 3
    assert erp.breaker.opened_at == clock.now


async def test_retries_stop_as_soon_as_the_circuit_opens(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    fake_erp.fail_always(Fault(500))
    with pytest.raises(CircuitOpen):
        await make_erp(attempts=10, threshold=3).submit_order(an_order())
    assert len(fake_erp.requests) == 3


async def test_refused_connections_open_the_circuit_too(make_erp: MakeErp) -> None:
    erp = make_erp(base_url=refused_url(), attempts=1, threshold=2)
    for _ in range(2):
        with pytest.raises(RemoteUnavailable):
            await erp.submit_order(an_order())
    assert erp.breaker.state is CircuitState.OPEN


async def test_adapters_sharing_a_breaker_share_the_outage(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    first = make_erp(attempts=1, threshold=2)
    second = make_erp(attempts=1, breaker=first.breaker)
    fake_erp.fail_always(Fault(503), times=2)
    for _ in range(2):
        with pytest.raises(RemoteUnavailable):
            await first.submit_order(an_order())
    with pytest.raises(CircuitOpen):
        await second.cancel_order(uuid4(), "ERP-1", "late")
    assert len(fake_erp.requests) == 2


async def test_a_call_made_for_a_correlated_piece_of_work_names_its_correlation_id(
    make_erp: MakeErp, fake_erp: FakeErp
) -> None:
    with correlated("corr-erp-7"):
        await make_erp().submit_order(an_order())
    await make_erp().submit_order(an_order())  # outside any work: no header invented
    first, second = fake_erp.requests
    assert first.headers["x-correlation-id"] == "corr-erp-7"
    assert "x-correlation-id" not in second.headers


async def test_a_call_to_the_erp_is_a_client_span_with_its_status(make_erp: MakeErp) -> None:
    recording()
    with correlated("corr-erp-8"):
        await make_erp().submit_order(an_order())
    [call] = [s for s in finished() if s.kind is SpanKind.CLIENT]  # one PUT books the order
    assert call.name == "ERP PUT"
    assert call.attributes is not None
    assert call.attributes["http.response.status_code"] == 201
    assert call.attributes["orderhub.correlation_id"] == "corr-erp-8"

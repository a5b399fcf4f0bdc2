"""The Salesforce CRM adapter against a fake org on a loopback socket: sign-in and token refresh,
cases upserted by external id, comments posted once, error lists, retries and the breaker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from adapters.http.resilience import CircuitOpen, CircuitState
from adapters.http.salesforce import COMMENT_LIMIT, SalesforceCrm, comment_marker
from ports.remote import RemoteRejected, RemoteUnavailable
from tests.integration.adapters.fake_salesforce import (
    DATA,
    EXTERNAL_ID_FIELD,
    FakeSalesforce,
    sf_error,
)
from tests.integration.adapters.scripted import Fault
from tests.unit.adapters.timing import RecordedSleeps

MakeCrm = Callable[..., SalesforceCrm]
CASE_BY_EXTERNAL_ID = f"/sobjects/Case/{EXTERNAL_ID_FIELD}/"


def expired_session() -> Fault:
    return Fault(401, sf_error("INVALID_SESSION_ID", "Session expired or invalid"), match=DATA)


async def test_open_case_signs_in_and_upserts_the_case_under_our_external_id(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce
) -> None:
    crm = make_crm(case_defaults={"Origin": "Web"})
    case_id = await crm.open_case("Return RMA-1 needs review", "amount mismatch", "return-held:7")
    token_request, lookup, upsert = fake_salesforce.requests
    assert token_request.line == "POST /services/oauth2/token"
    assert token_request.body == {
        "grant_type": "client_credentials", "client_id": "orderhub-client", "client_secret": "s3cret",
    }  # fmt: skip
    assert lookup.line == upsert.line.replace("PATCH", "GET")
    assert upsert.path == f"{DATA}{CASE_BY_EXTERNAL_ID}return-held:7"
    assert upsert.headers["authorization"] == "Bearer 00D!token-1"
    assert upsert.body == {
        "Origin": "Web", "Subject": "Return RMA-1 needs review", "Description": "amount mismatch",
    }  # fmt: skip
    assert fake_salesforce.cases[case_id][EXTERNAL_ID_FIELD] == "return-held:7"


async def test_opening_the_same_case_again_finds_it_and_creates_nothing(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce
) -> None:
    crm = make_crm()
    first = await crm.open_case("Subject", "first description", "ext-1")
    again = await crm.open_case("Subject", "second description", "ext-1")
    assert first == again
    assert len(fake_salesforce.cases) == 1
    assert fake_salesforce.cases[first]["Description"] == "first description"
    assert len(fake_salesforce.seen("PATCH")) == 1


@pytest.mark.parametrize("legacy_upsert", [False, True], ids=["200-with-id", "204-no-body"])
async def test_a_case_a_racing_worker_created_is_updated_not_duplicated(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce, legacy_upsert: bool
) -> None:
    crm = make_crm()
    existing = await crm.open_case("Subject", "d", "ext-race")
    fake_salesforce.legacy_upsert = legacy_upsert
    # The look-up misses the case (it was created after it), so the upsert meets it.
    not_found = sf_error("NOT_FOUND", "The requested resource does not exist")
    fake_salesforce.fail_next(Fault(404, not_found, match=f"GET {DATA}{CASE_BY_EXTERNAL_ID}"))
    assert await crm.open_case("Subject", "d", "ext-race") == existing
    assert len(fake_salesforce.cases) == 1


async def test_the_token_is_cached_across_calls(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce
) -> None:
    crm = make_crm()
    case_id = await crm.open_case("Subject", "d", "ext-1")
    await crm.add_case_comment(case_id, "hello", "c-1")
    await crm.update_case_status(case_id, "Working")
    assert fake_salesforce.tokens_issued == 1
    assert len(fake_salesforce.seen("oauth2")) == 1


async def test_an_expired_token_is_refreshed_once_and_the_request_repeated(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce, sleeps: RecordedSleeps
) -> None:
    crm = make_crm()
    case_id = await crm.open_case("Subject", "d", "ext-1")
    fake_salesforce.expire_tokens()
    await crm.update_case_status(case_id, "Escalated")
    assert fake_salesforce.cases[case_id]["Status"] == "Escalated"
    assert fake_salesforce.tokens_issued == 2
    statuses = [
        s.headers["authorization"] for s in fake_salesforce.seen(f"PATCH {DATA}/sobjects/Case/5")
    ]
    assert statuses == ["Bearer 00D!token-1", "Bearer 00D!token-2"]
    assert sleeps.delays == []  # a refresh is not a retry


async def test_requests_refused_together_sign_in_again_only_once(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce
) -> None:
    crm = make_crm()
    case_ids = [await crm.open_case("Subject", "d", f"ext-{n}") for n in range(5)]
    fake_salesforce.expire_tokens()
    await asyncio.gather(*(crm.update_case_status(c, "Working") for c in case_ids))
    assert fake_salesforce.tokens_issued == 2
    assert {c["Status"] for c in fake_salesforce.cases.values()} == {"Working"}


async def test_a_token_refused_even_after_refreshing_is_a_permanent_refusal(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce
) -> None:
    crm = make_crm(threshold=1)
    fake_salesforce.fail_next(expired_session(), expired_session(), expired_session())
    with pytest.raises(RemoteRejected, match="401"):
        await crm.open_case("Subject", "d", "ext-1")
    assert fake_salesforce.tokens_issued == 2  # signed in, then refreshed exactly once
    assert len(fake_salesforce.seen(DATA)) == 2
    assert crm.breaker.state is CircuitState.CLOSED


async def test_wrong_client_credentials_are_refused_without_retrying(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce
) -> None:
    with pytest.raises(RemoteRejected, match="invalid_client"):
        await make_crm(client_secret="wrong").open_case("Subject", "d", "ext-1")
    assert [s.line for s in fake_salesforce.requests] == ["POST /services/oauth2/token"]


async def test_a_token_endpoint_that_is_down_is_retried(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce
) -> None:
    fake_salesforce.fail_next(Fault(503, match="oauth2"))
    assert await make_crm().open_case("Subject", "d", "ext-1")
    assert fake_salesforce.tokens_issued == 1
    assert len(fake_salesforce.seen("oauth2")) == 2


async def test_the_org_request_limit_is_transient_and_retried(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce, sleeps: RecordedSleeps
) -> None:
    limit = sf_error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    fake_salesforce.fail_next(Fault(403, limit, match="PATCH"))
    case_id = await make_crm().open_case("Subject", "d", "ext-1")
    assert case_id in fake_salesforce.cases
    assert len(sleeps.delays) == 1


async def test_a_validation_error_is_refused_without_retrying(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce
) -> None:
    rule = sf_error("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Reason is required")
    fake_salesforce.fail_next(Fault(400, rule, match="PATCH"))
    with pytest.raises(RemoteRejected, match="FIELD_CUSTOM_VALIDATION_EXCEPTION"):
        await make_crm().open_case("Subject", "d", "ext-1")
    assert len(fake_salesforce.seen("PATCH")) == 1
    assert fake_salesforce.cases == {}


# -- comments ----------------------------------------------------------------------------------


async def test_a_comment_is_posted_once_per_external_id(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce
) -> None:
    crm = make_crm()
    case_id = await crm.open_case("Subject", "d", "ext-1")
    await crm.add_case_comment(case_id, "Refund of 19.99 EUR issued", "evt-1:crm")
    await crm.add_case_comment(case_id, "Refund of 19.99 EUR issued", "evt-1:crm")
    await crm.add_case_comment(case_id, "Return closed", "evt-2:crm")
    assert fake_salesforce.comments_on(case_id) == [
        "Refund of 19.99 EUR issued\n\n[orderhub:evt-1:crm]",
        "Return closed\n\n[orderhub:evt-2:crm]",
    ]
    [first_post, _] = fake_salesforce.seen("POST /services/data/v60.0/sobjects/CaseComment")
    assert first_post.body["ParentId"] == case_id
    assert first_post.body["IsPublished"] is False


async def test_a_comment_whose_reply_was_lost_is_not_posted_again(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce
) -> None:
    crm = make_crm()
    case_id = await crm.open_case("Subject", "d", "ext-1")
    fake_salesforce.fail_next(Fault(502, match="CaseComment", commit=True))
    await crm.add_case_comment(case_id, "Return authorized", "evt-9:crm")
    assert len(fake_salesforce.comments_on(case_id)) == 1
    assert len(fake_salesforce.seen("POST /services/data/v60.0/sobjects/CaseComment")) == 1


async def test_earlier_copies_are_found_on_later_pages_of_comments(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce
) -> None:
    crm = make_crm()
    fake_salesforce.page_size = 2
    case_id = await crm.open_case("Subject", "d", "ext-1")
    await crm.add_case_comment(case_id, "the oldest", "evt-0")
    for n in range(1, 6):
        await crm.add_case_comment(case_id, f"comment {n}", f"evt-{n}")
    before = len(fake_salesforce.seen("query/"))
    await crm.add_case_comment(case_id, "the oldest", "evt-0")
    assert len(fake_salesforce.comments_on(case_id)) == 6
    assert len(fake_salesforce.seen("query/")) - before == 2  # three pages: first, then two more


async def test_a_long_comment_is_cut_to_fit_and_keeps_its_marker(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce
) -> None:
    crm = make_crm()
    case_id = await crm.open_case("Subject", "d", "ext-1")
    await crm.add_case_comment(case_id, "x" * 10_000, "evt-long")
    [body] = fake_salesforce.comments_on(case_id)
    assert len(body) == COMMENT_LIMIT
    assert body.endswith(comment_marker("evt-long"))


@pytest.mark.parametrize("case_id", ["CASE-1", "500' OR Id != '", "500000000000001/../x"])
async def test_a_malformed_case_id_is_refused_before_anything_is_sent(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce, case_id: str
) -> None:
    crm = make_crm()
    with pytest.raises(RemoteRejected, match="not a Salesforce record id"):
        await crm.add_case_comment(case_id, "hello", "evt-1")
    with pytest.raises(RemoteRejected, match="not a Salesforce record id"):
        await crm.update_case_status(case_id, "Closed")
    assert fake_salesforce.requests == []


# -- status ------------------------------------------------------------------------------------


async def test_case_status_is_mapped_to_the_orgs_picklist(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce
) -> None:
    crm = make_crm(status_map={"refunded": "Closed"})
    case_id = await crm.open_case("Subject", "d", "ext-1")
    await crm.update_case_status(case_id, "refunded")
    assert fake_salesforce.cases[case_id]["Status"] == "Closed"
    with pytest.raises(RemoteRejected, match="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"):
        await crm.update_case_status(case_id, "archived")


# -- the wire and the breaker --------------------------------------------------------------------


async def test_a_stalled_answer_times_out_and_is_retried(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce
) -> None:
    fake_salesforce.fail_next(Fault(None, match="PATCH", stall=3.0))
    started = time.monotonic()
    case_id = await make_crm(timeout=0.2).open_case("Subject", "d", "ext-1")
    assert time.monotonic() - started < 2.0
    assert len(fake_salesforce.cases) == 1
    assert case_id in fake_salesforce.cases


async def test_the_circuit_opens_on_repeated_server_errors_and_spares_salesforce(
    make_crm: MakeCrm, fake_salesforce: FakeSalesforce
) -> None:
    crm = make_crm(attempts=1, threshold=2)
    case_id = await crm.open_case("Subject", "d", "ext-1")
    fake_salesforce.fail_always(Fault(503, sf_error("SERVER_UNAVAILABLE", "down"), match=DATA), 2)
    for _ in range(2):
        with pytest.raises(RemoteUnavailable):
            await crm.update_case_status(case_id, "Working")
    seen = len(fake_salesforce.requests)
    with pytest.raises(CircuitOpen):
        await crm.add_case_comment(case_id, "hello", "evt-1")
    assert len(fake_salesforce.requests) == seen

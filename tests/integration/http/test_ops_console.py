"""The console's operations page (PRODUCT.md §8.4) on the whole app: only ops sessions open it;
it shows the outbox and its last hour, the remotes, stuck workflows and dead letters; replays are
forms with the session's token, from this origin, answered by a redirect that says what happened;
a bad filter is a readable 400; nothing a message carries is ever markup."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.circuit_board import SqlCircuitBoard
from ports.circuits import CircuitReport, CircuitState
from ports.delivery_log import DeadLetter
from tests.integration.http.channel import order_body, place, stock
from tests.integration.http.conftest import Api, make_api
from tests.integration.http.test_console_sessions import sign_in
from tests.integration.http.test_read_side import project

OPS = "/console/ops"
REPLAY_ALL = "/console/ops/dead-letters/replay"
SECOND = timedelta(seconds=1)
HOSTILE = '<script>alert("owned")</script>'


@pytest.fixture(params=["sqlite", "postgres"])
def either_engine(request: pytest.FixtureRequest) -> AsyncEngine:
    engine: AsyncEngine = request.getfixturevalue(f"{request.param}_engine")
    return engine


@pytest.fixture
async def either_api(either_engine: AsyncEngine) -> AsyncIterator[Api]:
    """The app on SQLite, then on PostgreSQL."""
    async for built in make_api(either_engine):
        yield built


def replay_one(letter_id: UUID | str) -> str:
    return f"/console/ops/dead-letters/{letter_id}/replay"


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def replay_buttons(page: httpx.Response) -> set[str]:
    """The ids of the letters the page offers to replay."""
    return set(re.findall(r'action="/console/ops/dead-letters/([0-9a-f-]{36})/replay"', page.text))


async def bury(
    api: Api, consumer: str, error: str, count: int = 1, event_type: str = "OrderPlaced"
) -> list[UUID]:
    """`count` dead letters for `consumer`, a second apart; answers the letters' ids."""
    log = api.container.delivery_log()
    for _ in range(count):
        message = {"event_id": str(uuid4()), "event_type": event_type, "aggregate_id": "o-1"}
        await log.bury(message, consumer, 5, "permanent", error, api.clock.now())
        api.clock.advance(SECOND)
    letters = await api.container.dead_letters().page(1000, None)
    return [d.id for d in letters if d.consumer == consumer][:count]


async def letters(api: Api) -> dict[UUID, DeadLetter]:
    return {d.id: d for d in await api.container.dead_letters().page(1000, None)}


async def ops_page(api: Api, **params: str) -> httpx.Response:
    return await api.client.get(OPS, params=params)


# -- who may open it ------------------------------------------------------------------------


async def test_an_ops_session_sees_the_outbox_its_hour_remotes_stuck_orders_and_dead_letters(
    either_api: Api,
) -> None:
    api = either_api
    await stock(api, "MUG-1", "dc-east", 10)
    order_id = (await place(api, order_body("W-OPS-1"), key="k-ops-1")).json()["id"]
    api.clock.advance(30 * SECOND)
    api.container.actors()
    relay = api.container.relay()
    assert await relay.relay_once() == 3  # the snapshot, OrderPlaced, InventoryReserved
    await relay.record_minutes(force=True)
    await project(api)
    await SqlCircuitBoard(api.container.engine()).report(
        CircuitReport(remote="erp", state=CircuitState.OPEN, consecutive_failures=5,
                      at=api.clock.now())
    )  # fmt: skip
    await bury(api, "erp", "RemoteUnavailable: ERP answered 503")
    api.clock.advance(timedelta(minutes=16))  # past the booking SLA
    await sign_in(api, "ops")

    page = await ops_page(api)

    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert '<a href="/console/ops">Operations</a>' in html
    for section in ("outbox", "remotes", "stuck", "dead-letters"):
        assert f'id="{section}"' in html
    # the outbox now, and its last hour: the order waited 30 s for the relay, one command
    assert "Unpublished events</dt><dd>0</dd>" in html
    assert html.count('<svg class="chart"') == 2
    assert ">30 s</text>" in html  # the lag chart's scale: the longest wait
    # the order is one; the stock snapshot was caused by the warehouse's event, so it is not
    assert "Commands in the last hour</dt><dd>1</dd>" in html
    assert "<polyline" in html or "<circle" in html
    # the remotes, the ERP's circuit open
    assert '<span class="circuit circuit-open">open</span>' in html
    assert '<span class="circuit circuit-closed">closed</span>' in html
    # the order not booked in time, linked to its page
    assert f'<a href="/console/orders/{order_id}">W-OPS-1</a>' in html
    assert "not booked" in html
    assert "16 min" in html
    # the dead letter, with a button to replay it
    assert "RemoteUnavailable: ERP answered 503" in html
    assert len(replay_buttons(page)) == 1
    assert "Replay every dead letter not yet replayed" in html


async def test_an_agent_session_gets_a_readable_refusal_and_no_link(api: Api) -> None:
    [letter] = await bury(api, "erp", "TimeoutError")
    await sign_in(api, "agent")
    token = csrf_of(await api.client.get("/console"))
    assert 'href="/console/ops"' not in (await api.client.get("/console")).text

    refused = await ops_page(api)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "The operations page is for ops keys" in refused.text
    assert "Dead letters" not in refused.text

    for path in (replay_one(letter), REPLAY_ALL):
        posted = await api.client.post(path, data={"csrf": token})
        assert posted.status_code == 403, path
        assert "for ops keys" in posted.text
    assert (await letters(api))[letter].replayed_at is None


async def test_without_a_session_every_route_sends_to_the_sign_in_form(api: Api) -> None:
    [letter] = await bury(api, "erp", "TimeoutError")
    for method, path in (("GET", OPS), ("POST", REPLAY_ALL), ("POST", replay_one(letter))):
        response = await api.client.request(method, path, headers=api.auth("ops"))
        assert (response.status_code, response.headers["location"]) == (303, "/console"), path
    assert (await letters(api))[letter].replayed_at is None


# -- replaying -------------------------------------------------------------------------------


async def test_replaying_one_letter_returns_to_the_filter_and_shows_it_replayed(
    api: Api,
) -> None:
    [letter, other] = await bury(api, "erp", "TimeoutError: ERP slow", count=2)
    await sign_in(api, "ops")
    page = await ops_page(api, consumer="erp")
    assert replay_buttons(page) == {str(letter), str(other)}

    replayed = await api.client.post(
        replay_one(letter), data={"csrf": csrf_of(page), "consumer": "erp"}
    )

    assert replayed.status_code == 303
    assert replayed.headers["location"] == f"{OPS}?consumer=erp&outcome=replayed#dead-letters"
    after = await api.client.get(replayed.headers["location"])
    assert "Replayed the dead letter: its delivery is due again now." in after.text
    assert 'value="erp"' in after.text  # the filter kept
    assert replay_buttons(after) == {str(other)}
    assert (await letters(api))[letter].replayed_at == api.clock.now()

    again = await api.client.post(replay_one(letter), data={"csrf": csrf_of(page)})
    assert again.headers["location"] == f"{OPS}?outcome=already_replayed#dead-letters"
    refusal = await api.client.get(again.headers["location"])
    assert "had been replayed already" in refusal.text
    assert 'class="error" role="alert"' in refusal.text

    unknown = await api.client.post(replay_one(uuid4()), data={"csrf": csrf_of(page)})
    assert (
        "There is no such dead letter." in (await api.client.get(unknown.headers["location"])).text
    )


async def test_a_letter_without_an_event_to_deliver_is_refused_readably(api: Api) -> None:
    await api.container.delivery_log().bury(
        {"event_id": "garbled"}, "erp", 1, "undecodable", "no event id", api.clock.now()
    )
    [letter] = await api.container.dead_letters().page(1, None)
    await sign_in(api, "ops")

    posted = await api.client.post(
        replay_one(letter.id), data={"csrf": csrf_of(await ops_page(api))}
    )

    page = await api.client.get(posted.headers["location"])
    assert "holds no event to deliver again" in page.text
    assert (await letters(api))[letter.id].replayed_at is None


async def test_replay_all_matching_replays_only_the_matches_and_says_how_many(
    either_api: Api,
) -> None:
    api = either_api
    erp = await bury(api, "erp", "TimeoutError: ERP slow", count=3)
    crm = await bury(api, "crm", "RemoteRejected: account LOCKED", count=2)
    await sign_in(api, "ops")
    page = await ops_page(api, error_contains="locked")
    assert replay_buttons(page) == {str(i) for i in crm}
    assert "Replay all matching this filter" in page.text
    form = {"csrf": csrf_of(page), "error_contains": "locked"}

    posted = await api.client.post(REPLAY_ALL, data=form)

    assert posted.status_code == 303
    assert posted.headers["location"] == f"{OPS}?error_contains=locked&replayed=2#dead-letters"
    assert "Replayed 2 dead letters." in (await api.client.get(posted.headers["location"])).text
    stored = await letters(api)
    assert all(stored[i].replayed_at is not None for i in crm)
    assert all(stored[i].replayed_at is None for i in erp)
    assert replay_buttons(await ops_page(api)) == {str(i) for i in erp}

    repeated = await api.client.post(REPLAY_ALL, data=form)
    assert "replayed=0" in repeated.headers["location"]
    assert "Replayed no dead letter" in (await api.client.get(repeated.headers["location"])).text


async def test_a_post_without_the_sessions_token_is_refused(api: Api) -> None:
    [letter] = await bury(api, "erp", "TimeoutError")
    await sign_in(api, "ops")
    await ops_page(api)

    for form in ({}, {"csrf": "forged-" + "x" * 36}, {"csrf": "é" * 43}):
        for path in (replay_one(letter), REPLAY_ALL):
            refused = await api.client.post(path, data=form)
            assert refused.status_code == 403, (path, form)
            assert "the form has expired" in refused.text

    assert (await letters(api))[letter].replayed_at is None


async def test_a_post_from_another_site_is_refused(api: Api) -> None:
    [letter] = await bury(api, "erp", "TimeoutError")
    await sign_in(api, "ops")
    form = {"csrf": csrf_of(await ops_page(api))}

    for headers in ({"Origin": "https://evil.example.com"}, {"Sec-Fetch-Site": "cross-site"}):
        for path in (replay_one(letter), REPLAY_ALL):
            refused = await api.client.post(path, data=form, headers=headers)
            assert refused.status_code == 403, (path, headers)
            assert "only be posted from the console itself" in refused.text

    assert (await letters(api))[letter].replayed_at is None
    same_site = await api.client.post(
        replay_one(letter), data=form, headers={"Origin": "http://orderhub.test"}
    )
    assert same_site.status_code == 303


# -- filtering -------------------------------------------------------------------------------


async def test_the_filter_narrows_the_letters_and_pages_keep_it(api: Api) -> None:
    start = api.clock.now()
    erp = await bury(api, "erp", "TimeoutError: ERP slow", count=55)
    crm = await bury(api, "crm", "RemoteRejected", count=2, event_type="InventoryReserved")
    await sign_in(api, "ops")

    by_type = await ops_page(api, event_type="InventoryReserved")
    assert replay_buttons(by_type) == {str(i) for i in crm}

    first = await ops_page(api, consumer="erp")
    assert len(replay_buttons(first)) == 50
    older = re.search(r'href="(/console/ops\?[^"]+)"[^>]*>Older dead letters', first.text)
    assert older, "a link to the older letters"
    link = older.group(1).replace("&amp;", "&")
    assert "consumer=erp" in link
    second = await api.client.get(link)
    assert len(replay_buttons(second)) == 5
    assert replay_buttons(first) | replay_buttons(second) == {str(i) for i in erp}

    moment = (start + 10 * SECOND).strftime("%Y-%m-%dT%H:%M:%S")
    first_ten = await ops_page(api, until=moment)  # no offset: UTC
    assert len(replay_buttons(first_ten)) == 10


async def test_a_filter_that_is_not_one_is_a_readable_400(api: Api) -> None:
    await bury(api, "erp", "TimeoutError")
    await sign_in(api, "ops")
    cases: dict[str, tuple[dict[str, str], str]] = {
        "no date": ({"since": "yesterday"}, "“Died since” is not a date and time"),
        "until before since": (
            {"since": "2026-11-02T10:00", "until": "2026-11-02T09:00"},
            "“Died before” must not be earlier than “Died since”",
        ),
        "too long": ({"consumer": "x" * 101}, "Consumer: at most 100 characters."),
        "NUL": ({"error_contains": "a\x00b"}, "Error contains: must not contain a NUL character."),
        "forged cursor": ({"cursor": "bm90LWEtY3Vyc29y"}, "not one this console made"),
    }
    for case, (params, message) in cases.items():
        refused = await ops_page(api, **params)
        assert refused.status_code == 400, (case, refused.text[:300])
        assert refused.headers["content-type"].startswith("text/html"), case
        assert message in refused.text, (case, refused.text)
        assert "Traceback" not in refused.text
        assert replay_buttons(refused) == set(), case
        assert "Replay all" not in refused.text, case

    token = csrf_of(await ops_page(api))
    posted = await api.client.post(REPLAY_ALL, data={"csrf": token, "since": "soon"})
    assert posted.status_code == 400
    assert "is not a date and time" in posted.text
    assert all(d.replayed_at is None for d in (await letters(api)).values())


async def test_hostile_text_in_a_letter_or_a_filter_is_shown_as_text(api: Api) -> None:
    await bury(api, "erp", f"RemoteRejected: {HOSTILE}")
    await bury(api, "crm", "x" * 300 + HOSTILE)  # cut short in the row, whole in its details
    await sign_in(api, "ops")

    for page in (await ops_page(api), await ops_page(api, error_contains=HOSTILE)):
        assert "<script" not in page.text
    listed = (await ops_page(api)).text
    assert "RemoteRejected: &lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in listed
    assert "<details>" in listed
    echoed = (await ops_page(api, error_contains=HOSTILE)).text
    assert 'value="&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;"' in echoed


async def test_the_flash_shows_only_sentences_of_its_own(api: Api) -> None:
    await sign_in(api, "ops")

    for params in ({"outcome": HOSTILE}, {"replayed": HOSTILE}, {"replayed": "-1"}):
        page = await ops_page(api, **params)
        assert page.status_code == 200
        assert "<script" not in page.text
        assert 'class="notice"' not in page.text

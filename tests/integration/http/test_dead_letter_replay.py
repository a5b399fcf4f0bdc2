"""Replaying dead letters in bulk over HTTP: every letter a filter matches, once, by an ops key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from tests.integration.http.channel import order_body, place, stock
from tests.integration.http.conftest import Api

REPLAY = "/v1/ops/dead-letters/replay"
#: The consumers the test buries for, and the error each gives.
ERRORS = {"erp": "TimeoutError: ERP slow to answer", "crm": "RemoteRejected: 100% LOCKED_account"}


async def bury_every_delivery(api: Api) -> int:
    """Two orders placed; every event's delivery to each of `ERRORS` expected, then given up on,
    a second apart. Answers how many letters each consumer has."""
    await stock(api, "MUG-1", "dc-east", 10)
    for ref in ("W-1", "W-2"):
        assert (await place(api, order_body(ref), key=ref)).status_code == 201
    now = api.clock.now()
    async with api.container.outbox_store().claim(100) as batch:
        messages = list(batch.messages)
        await batch.expect_deliveries(
            [(UUID(m["event_id"]), consumer) for m in messages for consumer in ERRORS], now
        )
        await batch.mark_published(now)
    for message in messages:
        for consumer, error in ERRORS.items():
            await api.container.delivery_log().bury(
                message, consumer, 5, "permanent", error, api.clock.now()
            )
        api.clock.advance(timedelta(seconds=1))
    return len(messages)


async def replay(api: Api, body: Any, who: str = "ops") -> Any:
    return await api.client.post(REPLAY, json=body, headers=api.auth(who))


async def letters(api: Api) -> list[dict[str, Any]]:
    page = await api.client.get("/v1/ops/dead-letters?limit=500", headers=api.auth("ops"))
    return list(page.json()["items"])


async def test_replaying_by_consumer_and_by_error_text_replays_each_match_once(api: Api) -> None:
    per_consumer = await bury_every_delivery(api)

    by_consumer = await replay(api, {"consumer": "crm"})
    assert (by_consumer.status_code, by_consumer.json()) == (200, {"replayed": per_consumer})
    assert (await replay(api, {"consumer": "crm"})).json() == {"replayed": 0}
    assert {(d["consumer"], d["replayed_at"] is None) for d in await letters(api)} == {
        ("crm", False),
        ("erp", True),
    }

    assert (await replay(api, {"error_contains": "locked"})).json() == {"replayed": 0}
    by_text = await replay(api, {"error_contains": "erp SLOW"})
    assert by_text.json() == {"replayed": per_consumer}
    assert (await replay(api, {})).json() == {"replayed": 0}
    assert all(d["replayed_at"] is not None for d in await letters(api))


async def test_replaying_by_time_and_ids(api: Api) -> None:
    await bury_every_delivery(api)
    oldest_first = sorted(await letters(api), key=lambda d: (d["died_at"], d["id"]))
    first, second = oldest_first[0]["died_at"], oldest_first[2]["died_at"]

    one_moment = await replay(api, {"consumer": "erp", "since": first, "until": second})
    assert one_moment.json() == {"replayed": 1}
    chosen = [oldest_first[0]["id"], oldest_first[1]["id"], oldest_first[2]["id"]]
    assert (await replay(api, {"ids": chosen})).json() == {"replayed": 2}
    assert (await replay(api, {})).json() == {"replayed": len(oldest_first) - 3}


async def test_only_ops_keys_replay(api: Api) -> None:
    anonymous = await api.client.post(REPLAY, json={})
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthenticated")
    for who in ("web", "agent", "system"):
        refused = await replay(api, {}, who=who)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), who


async def test_a_filter_that_is_not_one_is_refused_with_the_failing_field(api: Api) -> None:
    cases = {
        "unknown field": ({"consumer": "erp", "reason": "permanent"}, "body"),
        "bad id": ({"ids": ["not-a-uuid"]}, "ids[0]"),
        "time without offset": ({"since": "2026-11-02T10:00:00"}, "since"),
        "empty text": ({"error_contains": ""}, "error_contains"),
        "since after until": (
            {"since": "2026-11-02T10:00:00Z", "until": "2026-11-02T09:00:00Z"},
            "until",
        ),
    }
    for case, (body, field) in cases.items():
        refused = await replay(api, body)
        problem = refused.json()
        assert refused.status_code == 422, case
        assert refused.headers["content-type"].startswith("application/problem+json"), case
        assert problem["code"] == "validation_error", case
        assert field in [e["field"] for e in problem["errors"]], (case, problem)
    unknown = (await replay(api, {"reason": "permanent"})).json()["errors"]
    assert unknown == [{"field": "body", "message": "Object contains unknown field `reason`"}]


async def test_the_schema_documents_that_an_empty_filter_replays_everything(api: Api) -> None:
    schema = (await api.client.get("/schema/openapi.json")).json()
    operation = schema["paths"][REPLAY]["post"]
    assert "An empty filter `{}` replays every dead letter" in " ".join(
        operation["description"].split()
    )


async def test_a_letter_without_a_readable_event_id_is_refused_as_unreplayable(api: Api) -> None:
    await api.container.delivery_log().bury(
        {"event_id": "garbled", "event_type": "OrderPlaced"},
        "erp",
        1,
        "undecodable",
        "UndecodableMessage: no event id",
        api.clock.now(),
    )
    [letter] = await letters(api)

    answer = await api.client.post(
        f"/v1/ops/dead-letters/{letter['id']}/replay", headers=api.auth("ops")
    )

    assert (answer.status_code, answer.json()["code"]) == (409, "dead_letter_unreplayable")
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert (await replay(api, {})).json() == {"replayed": 0}

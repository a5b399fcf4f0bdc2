"""Notes on an order's timeline (PRODUCT.md §8.4): an agent writes one on any order, a channel on
its own; each is a `note.added` entry whose source is who wrote it."""

from __future__ import annotations

from typing import Any

from tests.integration.http.channel import order_body, place, stock
from tests.integration.http.conftest import Api
from tests.integration.http.requests import assert_problem, idempotent
from tests.integration.http.test_read_side import project


async def placed(api: Api) -> str:
    await stock(api, "MUG-1", "dc-east", 50)
    return str((await place(api, order_body("W-71"), key="k-71")).json()["id"])


async def note(api: Api, order_id: str, text: Any, who: str) -> Any:
    return await api.client.post(
        f"/v1/orders/{order_id}/notes", json={"text": text}, headers=idempotent(api, who)
    )


async def notes_on(api: Api, order_id: str) -> list[tuple[str, str]]:
    await project(api)
    timeline = (
        await api.client.get(f"/v1/orders/{order_id}/timeline", headers=api.auth("agent"))
    ).json()
    return [(e["source"], e["title"]) for e in timeline["items"] if e["kind"] == "note.added"]


async def test_a_note_by_an_agent_and_one_by_the_channel_are_on_the_timeline_as_theirs(
    api: Api,
) -> None:
    order_id = await placed(api)

    by_agent = await note(api, order_id, "Customer called: leave at the back door", "agent")
    by_channel = await note(api, order_id, "Gift wrap requested in chat", "web")

    assert (by_agent.status_code, by_channel.status_code) == (200, 200)
    assert by_agent.json()["status"] == "reserved"  # nothing else about the order changed
    assert await notes_on(api, order_id) == [
        ("agent", "Note: Customer called: leave at the back door"),
        ("channel", "Note: Gift wrap requested in chat"),
    ]


async def test_a_note_may_be_written_on_a_cancelled_order(api: Api) -> None:
    order_id = await placed(api)
    await api.client.post(
        f"/v1/orders/{order_id}/cancel", headers=api.auth("web"), json={"reason": "changed mind"}
    )

    answer = await note(api, order_id, "Refund confirmed to the customer by phone", "agent")

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled"


async def test_another_channel_cannot_write_on_an_order_it_does_not_own(api: Api) -> None:
    order_id = await placed(api)

    assert_problem(await note(api, order_id, "hello", "pos"), 404, "order_not_found")


async def test_an_empty_or_oversize_note_is_refused_naming_its_field(api: Api) -> None:
    order_id = await placed(api)

    for text in ("   ", "x" * 2001):
        refused = await note(api, order_id, text, "agent")
        assert refused.status_code in (400, 422), refused.text
        assert "text" in refused.text
    assert await notes_on(api, order_id) == []

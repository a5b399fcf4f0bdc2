"""The `ViewReader` contract, through the real projector and queries: an order's view and
timeline with their standing against the outbox, the searches and their keyset, the order of a
return, on the in-memory store, SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from domain import commands as c
from ports.views import OrderFilter, Standing
from tests.integration.backends import Backend
from tests.integration.contracts.histories import (
    delivered,
    five_orders,
    newest_first,
    place,
    project,
    request_return,
    six_events,
)
from tests.integration.contracts.readings import (
    as_json,
    folded,
    found,
    read_models,
    timeline_of,
)


async def test_a_view_behind_the_outbox_is_not_current_and_hides_its_timeline(
    backend: Backend,
) -> None:
    await backend.stock("MUG", "dc-east", 10)
    order_id = await place(backend)
    await project(backend, order_id)

    await backend.run(c.HoldOrder(order_id=order_id, reason="address check"))

    standing, view = await backend.view_reader.order(order_id)
    assert standing == Standing(latest=3, version=2, channel="web")
    assert not standing.current
    assert view is not None
    assert view.version == 2
    assert await backend.view_reader.timeline(order_id, 0, 10) == (standing, None)
    standing, entries = await backend.view_reader.timeline(order_id, 0, 10, even_if_behind=True)
    assert [e.aggregate_version for e in entries or []] == [1, 2]


async def test_an_order_never_projected_has_no_view_and_an_empty_timeline(
    backend: Backend,
) -> None:
    await backend.stock("MUG", "dc-east", 10)
    order_id = await place(backend)

    assert await backend.view_reader.order(order_id) == (Standing(2, None, None), None)
    assert await backend.view_reader.timeline(order_id, 0, 10) == (Standing(2, None, None), None)
    assert await backend.view_reader.timeline(order_id, 0, 10, even_if_behind=True) == (
        Standing(2, None, None),
        [],
    )


async def test_an_unknown_order_has_no_standing(backend: Backend) -> None:
    nowhere = Standing(None, None, None)

    assert await backend.view_reader.order(uuid4()) == (nowhere, None)
    assert await backend.view_reader.timeline(uuid4(), 0, 10, even_if_behind=True) == (
        nowhere,
        None,
    )


async def test_the_timeline_pages_by_version(backend: Backend) -> None:
    order_id = await six_events(backend)
    await project(backend, order_id)

    pages = []
    for after in (0, 2, 4, 6):
        standing, entries = await backend.view_reader.timeline(order_id, after, 2)
        assert standing.current
        pages.append([e.aggregate_version for e in entries or []])

    assert pages == [[1, 2], [3, 4], [5, 6], []]
    _, everything = await backend.view_reader.timeline(order_id, 0, 100)
    assert as_json(everything) == await timeline_of(backend, order_id)
    assert [e["kind"] for e in as_json(everything)] == [
        "order.placed", "inventory.reserved", "order.held", "order.resumed", "case.linked",
        "order.booked",
    ]  # fmt: skip


async def test_the_queries_read_an_order_and_its_timeline_with_every_event_applied(
    backend: Backend,
) -> None:
    await backend.stock("MUG", "dc-east", 10)
    order_id = await place(backend)
    await project(backend, order_id)
    await backend.run(c.HoldOrder(order_id=order_id, reason="address check"))
    queries = read_models(backend)

    view = await queries.order(order_id)
    first = await queries.timeline(order_id, 2, None)
    assert first is not None
    assert first.page.next_cursor is not None
    rest = await queries.timeline(order_id, 2, first.page.next_cursor)

    assert view is not None
    assert (view.version, view.document["status"]) == (3, "on_hold")
    assert rest is not None
    assert [i["kind"] for i in first.page.items + rest.page.items] == [
        "order.placed", "inventory.reserved", "order.held",
    ]  # fmt: skip
    assert (first.channel, rest.page.next_cursor) == ("web", None)
    assert (await backend.view_reader.order(order_id))[0].current
    assert await queries.order(uuid4()) is None


async def test_what_a_reader_reads_is_its_own_to_change(backend: Backend) -> None:
    order_id = await six_events(backend)
    await project(backend, order_id)
    before = as_json(
        (
            await backend.view_reader.order(order_id),
            await backend.view_reader.timeline(order_id, 0, 10),
            await backend.view_reader.search(OrderFilter(), 10, None),
        )
    )

    _, view = await backend.view_reader.order(order_id)
    _, entries = await backend.view_reader.timeline(order_id, 0, 10)
    [listed] = await backend.view_reader.search(OrderFilter(), 10, None)
    assert view is not None
    assert entries
    view.document["status"] = "scribbled"
    view.returns["x"] = {}
    entries[0].detail["scribbled"] = True
    listed.document["status"] = "scribbled"

    assert (
        as_json(
            (
                await backend.view_reader.order(order_id),
                await backend.view_reader.timeline(order_id, 0, 10),
                await backend.view_reader.search(OrderFilter(), 10, None),
            )
        )
        == before
    )


async def test_a_search_lists_every_order_newest_first(backend: Backend) -> None:
    orders = await five_orders(backend)

    listed = await backend.view_reader.search(OrderFilter(), 100, None)

    assert [o.order_id for o in listed] == newest_first(orders)
    start = backend.clock.now() - timedelta(minutes=3)
    assert [o.created_at - start for o in listed] == [timedelta(minutes=n) for n in (3, 3, 2, 1, 0)]
    for o in listed:
        assert as_json(o.document) == (await folded(backend, o.order_id))["document"]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (OrderFilter(customer_email="ADA.lovelace@example.COM"), {0, 3}),
        (OrderFilter(channel="shop"), {1}),
        (OrderFilter(channel="web"), {0, 2, 3, 4}),
        (OrderFilter(channel_order_ref="WEB-1"), {0, 1}),
        (OrderFilter(channel="web", channel_order_ref="WEB-1"), {0}),
        (OrderFilter(erp_order_ref="ERP-2"), {1}),
        (OrderFilter(status="on_hold"), {2}),
        (OrderFilter(status="reserved", channel="web"), {0, 3, 4}),
        (OrderFilter(case_id="500C30000000000"), {2}),
        (OrderFilter(case_id="500C90000000000"), set()),
    ],
)
async def test_a_search_finds_the_orders_matching_every_filter_given_newest_first(
    backend: Backend, where: OrderFilter, expected: set[int]
) -> None:
    """`expected`: positions in `five_orders`."""
    orders = await five_orders(backend)

    result = await found(backend, where)

    assert result == [o for o in newest_first(orders) if orders.index(o) in expected]


async def test_a_search_pages_by_its_keyset(backend: Backend) -> None:
    orders = await five_orders(backend)

    pages, after = [], None
    for _ in range(5):  # bounded: three pages of two, then nothing
        page = await backend.view_reader.search(OrderFilter(), 2, after)
        if not page:
            break
        pages.append([o.order_id for o in page])
        after = (page[-1].created_at, page[-1].order_id)

    assert [len(p) for p in pages] == [2, 2, 1]
    assert [o for p in pages for o in p] == newest_first(orders)
    queries = read_models(backend)
    first = await queries.orders(OrderFilter(channel="web"), 3, None)
    assert first.next_cursor is not None
    second = await queries.orders(OrderFilter(channel="web"), 3, first.next_cursor)
    assert [UUID(d["id"]) for d in first.items + second.items] == [
        o for o in newest_first(orders) if o != orders[1]
    ]
    assert second.next_cursor is None


async def test_the_order_of_a_return_is_found_before_and_after_the_views_know_it(
    backend: Backend,
) -> None:
    await backend.stock("MUG", "dc-east", 10)
    order_id = await delivered(backend)
    backend.clock.advance(timedelta(days=1))
    known = await request_return(backend, order_id)
    await project(backend, order_id)
    new = await request_return(backend, order_id)

    assert await backend.view_reader.order_of_return(known) == order_id
    assert await backend.view_reader.order_of_return(new) == order_id
    assert await backend.view_reader.order_of_return(uuid4()) is None
    _, view = await backend.view_reader.order(order_id)
    assert view is not None
    assert set(view.returns) == {str(known)}
    caught_up = await read_models(backend).order_of_return(new)
    assert caught_up is not None
    assert set(caught_up.returns) == {str(known), str(new)}

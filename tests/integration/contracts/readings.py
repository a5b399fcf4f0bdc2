"""Reading the views back through the ports under test, as JSON, and what the fold of the
written events says they should be."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from adapters.message_codec import MsgspecCodec
from ports.views import OrderFilter
from read_models.projector import OrderProjection, apply, entries_of
from read_models.queries import ReadModels
from tests.integration.backends import Backend
from tests.integration.contracts.histories import events_of


def as_json(value: Any) -> Any:
    """`value` as a client reads it: JSON, decoded. (A message is JSON-ready builtins: the
    in-memory store's carry tuples where a database's carry lists; JSON does not tell them
    apart.)"""
    return msgspec.json.decode(msgspec.json.encode(value))


async def folded(backend: Backend, order_id: UUID) -> Any:
    """The view the fold makes of the order's events as they were written, as JSON."""
    codec = MsgspecCodec()
    messages = [codec.encode(e) for e in await events_of(backend, order_id)]
    return as_json(apply(None, messages))


async def timeline_of(backend: Backend, order_id: UUID) -> Any:
    """The timeline entries of the order's events as they were written, as JSON."""
    codec = MsgspecCodec()
    return as_json(entries_of([codec.encode(e) for e in await events_of(backend, order_id)]))


def read_models(backend: Backend) -> ReadModels:
    return ReadModels(backend.view_reader, OrderProjection(backend.view_store, backend.clock))


async def found(backend: Backend, where: OrderFilter) -> list[UUID]:
    return [listed.order_id for listed in await backend.view_reader.search(where, 100, None)]


async def everything_read(backend: Backend, orders: list[UUID]) -> dict[str, Any]:
    """Every view, timeline and search result, as JSON."""
    views = {str(o): as_json(await backend.view_reader.order(o)) for o in orders}
    timelines = {str(o): as_json(await backend.view_reader.timeline(o, 0, 1000)) for o in orders}
    listed = as_json(await backend.view_reader.search(OrderFilter(), 100, None))
    cases = await found(backend, OrderFilter(case_id="500C30000000000"))
    returns = {
        str(r): await backend.view_reader.order_of_return(r)
        for o in orders
        for r in (await backend.order(o)).returns
    }
    return {"views": views, "timelines": timelines, "listed": listed, "cases": cases,
            "returns": returns}  # fmt: skip

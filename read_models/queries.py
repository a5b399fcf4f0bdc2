"""Queries of the read models: an order and its returns, the order list with its filters, and an
order's timeline.

An order's own reads (its resource, its returns, its timeline) are read-your-writes: when the
outbox holds events of that order that its view lacks (one index lookup), they are projected
first, through the projector itself, so a channel sees its command's effect at once. Lists and
searches read the views as the projection left them."""

from __future__ import annotations

import base64
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from application.consumers import NotYet
from ports.unit_of_work import ConcurrencyConflict
from ports.views import OrderFilter, OrderView, ViewReader
from read_models.projector import OrderProjection


class BadCursor(ValueError):
    """Raised for a cursor this API did not hand out."""


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Any]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Timeline:
    channel: str  #: the order's, for the visibility check
    page: Page


class ReadModels:
    def __init__(self, views: ViewReader, projection: OrderProjection) -> None:
        self._views = views
        self._projection = projection

    async def order(self, order_id: UUID) -> OrderView | None:
        """The order's view, with every event committed so far applied."""
        standing, view = await self._views.order(order_id)
        if standing.latest is None:
            return None
        if standing.current:
            return view
        await self._catch_up(order_id, standing.latest)
        return (await self._views.order(order_id))[1]

    async def _catch_up(self, order_id: UUID, latest: int) -> None:
        with suppress(ConcurrencyConflict, NotYet):  # another projector moved it on meanwhile
            await self._projection.catch_up(order_id, latest)

    async def order_of_return(self, return_id: UUID) -> OrderView | None:
        """The view of the order a return belongs to. A return so new that the views do not
        know it yet is found by the write side's key alone, and its order's view caught up."""
        order_id = await self._views.order_of_return(return_id)
        if order_id is None:
            return None
        view = await self.order(order_id)
        return view if view is not None and str(return_id) in view.returns else None

    async def orders(self, where: OrderFilter, limit: int, cursor: str | None) -> Page:
        """Order documents, newest first."""
        found = await self._views.search(
            where, limit + 1, None if cursor is None else decode_cursor(cursor)
        )
        page = found[:limit]
        more = len(found) > limit
        return Page(
            [listed.document for listed in page],
            encode_cursor(page[-1].created_at, page[-1].order_id) if more else None,
        )

    async def timeline(self, order_id: UUID, limit: int, cursor: str | None) -> Timeline | None:
        """The order's story, oldest first, every event committed so far included (None: no such
        order). One round trip to check the view is current, one for the page; the documents
        are not read."""
        after = 0 if cursor is None else _version(cursor)
        standing, entries = await self._views.timeline(order_id, after, limit + 1)
        if standing.latest is None:
            return None
        if entries is None:
            await self._catch_up(order_id, standing.latest)
            standing, entries = await self._views.timeline(
                order_id, after, limit + 1, even_if_behind=True
            )
            if standing.channel is None or entries is None:
                return None  # not projectable yet (an event is missing): as if not there
        assert standing.channel is not None
        page = entries[:limit]
        items = [
            {"at": e.at, "source": e.source, "kind": e.kind, "title": e.title, "detail": e.detail,
             "correlation_id": e.correlation_id}
            for e in page
        ]  # fmt: skip
        more = len(entries) > limit
        next_cursor = _encode_version(page[-1].aggregate_version) if more else None
        return Timeline(standing.channel, Page(items, next_cursor))


def encode_cursor(created_at: datetime, order_id: UUID) -> str:
    """The cursor of the order list page that follows the order (created_at, order_id)."""
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{order_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """(created_at, order_id) of the last order before the page. Raises `BadCursor`."""
    try:
        created_at, _, order_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(created_at), UUID(order_id)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadCursor(cursor) from e


def _encode_version(version: int) -> str:
    return base64.urlsafe_b64encode(f"v{version}".encode()).decode()


def _version(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith("v") or not text[1:].isdigit() or len(text) > 12:
            raise ValueError(text)
        return int(text[1:])
    except (ValueError, UnicodeDecodeError) as e:
        raise BadCursor(cursor) from e

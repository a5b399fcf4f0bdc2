"""The read models' storage: order views (an order and its returns as documents), timeline
entries, and what the projector and the queries need of them.

The documents are folded from the order's events by `read_models/`; a store keeps them, indexes
them for the searches, and tells how far each view is behind the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from ports.outbox import Message

#: A resource as JSON-ready builtins: the order resource, or a return resource (PRODUCT.md §5.1).
Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class OrderView:
    version: int  #: the aggregate version of the last event folded in
    channel: str
    document: Document  #: the order resource
    returns: dict[str, Document]  #: return resources by return id


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of an order's story (PRODUCT.md §5.1), with the event it came from."""

    order_id: UUID
    aggregate_version: int
    event_id: UUID
    at: datetime
    source: str
    kind: str
    title: str
    detail: dict[str, Any]
    correlation_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilter:
    """The searches of `GET /v1/orders`; every field given must match."""

    customer_email: str | None = None  #: matched without regard to case
    channel: str | None = None
    channel_order_ref: str | None = None
    erp_order_ref: str | None = None
    case_id: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class Listed:
    """An order of a search result, with its place in the newest-first order."""

    document: Document
    created_at: datetime
    order_id: UUID


@dataclass(frozen=True, slots=True)
class Standing:
    """How an order's view stands against the outbox."""

    latest: int | None  #: the order's newest version (`of`); None: no such order
    version: int | None  #: the view's version; None: no view yet
    channel: str | None  #: the order's channel, from the view

    @classmethod
    def of(cls, outbox_latest: int | None, version: int | None, channel: str | None) -> Standing:
        """From the newest version the outbox holds and the view: an order whose events the
        outbox no longer holds (retention deleted them, PRODUCT.md §8.7, only once every
        delivery of them, the projection's included, finished) stands at its view's version."""
        return cls(outbox_latest if outbox_latest is not None else version, version, channel)

    @property
    def current(self) -> bool:
        return self.version is not None and self.latest is not None and self.version >= self.latest


class ViewUpdate(Protocol):
    """One order's view inside one projector's transaction."""

    async def view(self) -> OrderView | None: ...

    async def events_after(self, version: int) -> list[Message]:
        """The order's committed events after `version`, in stream order."""
        ...

    async def save(
        self,
        previous: int,
        view: OrderView,
        entries: Sequence[TimelineEntry],
        applied: Sequence[UUID],
        now: datetime,
    ) -> None:
        """Store the view moved on from version `previous` (0: a new view) and its new timeline
        entries, and finish the projection's deliveries of the `applied` events (so their
        messages, often still on their way, cost one lookup). Raises `ConcurrencyConflict` when
        the view is no longer at `previous`."""
        ...


class ViewRebuild(Protocol):
    """Views and timelines written anew from the outbox, in one transaction: each order `save`
    is given replaces what it had; the others are left as they are."""

    def order_events(self, page_size: int) -> AsyncIterator[Message]:
        """Every order event, ordered by order then version, read `page_size` at a time."""
        ...

    async def save(self, view: OrderView, entries: Sequence[TimelineEntry]) -> None: ...


class ViewStore(Protocol):
    """The projector's side."""

    def updating(self, order_id: UUID) -> AbstractAsyncContextManager[ViewUpdate]:
        """A transaction on one order's view; one at a time per order, even before its view
        exists. Committed when the block ends normally."""
        ...

    def rebuilding(self) -> AbstractAsyncContextManager[ViewRebuild]: ...


class ViewReader(Protocol):
    """The queries' side: reads only, each view read with how it stands against the outbox."""

    async def order(self, order_id: UUID) -> tuple[Standing, OrderView | None]:
        """The order's view and its standing, in one round trip."""
        ...

    async def timeline(
        self, order_id: UUID, after: int, limit: int, *, even_if_behind: bool = False
    ) -> tuple[Standing, list[TimelineEntry] | None]:
        """The standing and, when the view is current (or `even_if_behind`), up to `limit`
        entries of events after version `after`, oldest first."""
        ...

    async def search(
        self, where: OrderFilter, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[Listed]:
        """Up to `limit` matching orders, newest first (by created_at, then id), after the
        (created_at, order id) of the last order of the previous page."""
        ...

    async def order_of_return(self, return_id: UUID) -> UUID | None:
        """The order a return belongs to, whether or not the views know the return yet."""
        ...

"""`GET /v1/events`: the outbox as an ordered feed, resumable by cursor (PRODUCT.md §8.5)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from entrypoints.http.auth import roles
from entrypoints.http.openapi import EXTRA_PROBLEMS
from entrypoints.http.problems import ApiError
from entrypoints.http.schemas import NO_NUL
from ports.api_keys import Principal, Role
from read_models.event_feed import CursorExpired, Feed, InvalidCursor, UnknownEventTypes

Req = Request[Principal, Any, Any]


class EventPage(msgspec.Struct, kw_only=True):
    #: Each the §2.4 envelope: event_id, event_type, schema_version, aggregate_type,
    #: aggregate_id, aggregate_version, occurred_at, correlation_id, causation_id, actor, payload.
    items: list[dict[str, Any]]
    #: Where to resume: always present, also on an empty page (then poll again with it later).
    next_cursor: str


def feed_problem(error: InvalidCursor | CursorExpired | UnknownEventTypes) -> ApiError:
    """The refusal of a feed read, as the feed and the webhook replay answer it."""
    if isinstance(error, CursorExpired):
        return ApiError(
            410, "cursor_expired",
            f"{error}; read the feed again from its start (no `after`) or from a newer cursor",
        )  # fmt: skip
    if isinstance(error, UnknownEventTypes):
        return ApiError(
            422, "unknown_event_types", str(error),
            errors=[{"field": "types", "message": f"unknown: {t}"} for t in error.unknown],
        )  # fmt: skip
    return ApiError(400, "invalid_cursor", str(error))


class EventFeedController(Controller):
    path = "/v1/events"
    tags = ["events"]
    guards = [roles(Role.CHANNEL, Role.OPS)]

    @get("/", opt={EXTRA_PROBLEMS: (410,)})
    async def read_event_feed(
        self,
        request: Req,
        feed: NamedDependency[Feed],
        after: Annotated[str | None, QueryParameter(max_length=200, pattern=NO_NUL)] = None,
        types: Annotated[str | None, QueryParameter(max_length=2000, pattern=NO_NUL)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> EventPage:
        """Events in commit order after the cursor `after` (from the start without it), only of
        the comma-separated `types` when given; a channel key reads its own orders' events only.
        `next_cursor` is always returned: keep it, and resume from it after any outage. A cursor
        older than the retention (`RETENTION_DAYS`) is refused with 410 `cursor_expired`."""
        principal = request.user
        channel = principal.channel if principal.role is Role.CHANNEL else None
        names = [t.strip() for t in types.split(",") if t.strip()] if types else None
        try:
            page = await feed.page(after, limit, types=names, channel=channel)
        except (InvalidCursor, CursorExpired, UnknownEventTypes) as e:
            raise feed_problem(e) from None
        return EventPage(items=page.items, next_cursor=page.next_cursor)

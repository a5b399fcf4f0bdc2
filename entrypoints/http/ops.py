"""Operations: dead letters with replay (the ops views of the read-side issue join them here)."""

from __future__ import annotations

import base64
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter, SkipValidation
from msgspec import Meta

from domain.events import EVENT_TYPES
from entrypoints.http.auth import roles
from entrypoints.http.problems import ApiError
from entrypoints.http.schemas import NO_NUL, Body
from outbox.dead_letters import DeadLetters, Replay
from ports.api_keys import Role
from ports.circuits import CircuitState
from ports.delivery_log import DeadLetter, DeadLetterFilter
from ports.views import ViewStore
from read_models.operations import Operations, OutboxStatus, StuckKind
from read_models.projector import rebuild
from read_models.remotes import Remotes


class DeadLetterResource(msgspec.Struct, kw_only=True):
    id: UUID
    message_id: str
    consumer: str
    event_type: str
    aggregate_id: str
    attempts: int
    reason: str
    error: str
    died_at: datetime
    replayed_at: datetime | None


class DeadLetterPage(msgspec.Struct, kw_only=True):
    items: list[DeadLetterResource]
    next_cursor: str | None


class StuckResource(msgspec.Struct, kw_only=True):
    kind: StuckKind
    order_id: UUID
    channel_order_ref: str
    status: str
    since: datetime
    age_seconds: float
    return_id: str | None


class StuckPage(msgspec.Struct, kw_only=True):
    items: list[StuckResource]
    next_cursor: str | None


class RemoteResource(msgspec.Struct, kw_only=True):
    name: str
    state: CircuitState
    since: datetime | None
    consecutive_failures: int
    waiting: int


class RemotePage(msgspec.Struct, kw_only=True):
    items: list[RemoteResource]


class RebuildResult(msgspec.Struct, kw_only=True):
    orders: int


class ReplayResult(msgspec.Struct, kw_only=True):
    id: UUID
    status: str


class BulkReplayResult(msgspec.Struct, kw_only=True):
    replayed: int  #: letters this call replayed; 0 when every match was replayed already


Moment = Annotated[datetime, Meta(tz=True)]


class ReplayFilterBody(Body):
    """Which dead letters to replay: every field given must match (`DeadLetterFilter`)."""

    consumer: Annotated[str, Meta(min_length=1, max_length=100, pattern=NO_NUL)] | None = None
    event_type: Annotated[str, Meta(min_length=1, max_length=64, pattern=NO_NUL)] | None = None
    #: A substring of the error, case-insensitive for A-Z; `%` and `_` are plain characters.
    error_contains: Annotated[str, Meta(min_length=1, max_length=200, pattern=NO_NUL)] | None = None
    since: Moment | None = None  #: died at or after
    until: Moment | None = None  #: died before
    ids: Annotated[list[UUID], Meta(max_length=1000)] | None = None

    def to_filter(self) -> DeadLetterFilter:
        if self.event_type is not None and self.event_type not in EVENT_TYPES:
            # Not an empty match: a misspelt type would replay nothing and look like success.
            raise ApiError(422, "unknown_event_types", f"unknown event type: {self.event_type}",
                           errors=[{"field": "event_type", "message": f"unknown: {self.event_type}"}])  # fmt: skip
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ApiError(422, "validation_error", "the request does not match its schema",
                           errors=[{"field": "until", "message": "must not be before `since`"}])  # fmt: skip
        return DeadLetterFilter(
            consumer=self.consumer,
            event_type=self.event_type,
            error_contains=self.error_contains,
            since=self.since,
            until=self.until,
            ids=None if self.ids is None else tuple(self.ids),
        )


Limit = Annotated[int, QueryParameter(ge=1, le=500)]
Cursor = Annotated[str | None, QueryParameter(max_length=200, pattern=NO_NUL)]


def encode_cursor(letter: DeadLetter) -> str:
    return base64.urlsafe_b64encode(f"{letter.died_at.isoformat()}|{letter.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        died_at, _, letter_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(died_at), UUID(letter_id)
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(400, "invalid_cursor", "the cursor is not one this API handed out") from e


class OpsController(Controller):
    path = "/v1/ops"
    tags = ["operations"]
    guards = [roles(Role.OPS)]

    @get("/dead-letters")
    async def list_dead_letters(
        self,
        dead_letter_store: NamedDependency[DeadLetters],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> DeadLetterPage:
        """Messages a consumer gave up on, newest first."""
        after = decode_cursor(cursor) if cursor else None
        letters = await dead_letter_store.page(limit + 1, after)
        page = letters[:limit]
        return DeadLetterPage(
            items=[
                DeadLetterResource(
                    **{f: getattr(x, f) for f in DeadLetterResource.__struct_fields__}
                )
                for x in page
            ],
            next_cursor=encode_cursor(page[-1]) if len(letters) > limit else None,
        )

    @get("/outbox")
    async def get_outbox_status(self, operations: NamedDependency[Operations]) -> OutboxStatus:
        """How far the relay is behind: unpublished events, the oldest one's age, and the pace."""
        return await operations.outbox(operations.now())

    @get("/stuck")
    async def list_stuck_workflows(
        self,
        operations: NamedDependency[Operations],
        limit: Limit = 100,
    ) -> StuckPage:
        """Workflows past their SLA: not booked, not delivered, received but not refunded; and
        orders the channel asked to cancel after they shipped (`cancel_requested_after_shipment`)."""
        found = await operations.stuck(operations.now(), limit)
        return StuckPage(items=[StuckResource(**asdict(s)) for s in found], next_cursor=None)

    @get("/remotes")
    async def list_remotes(self, remotes: NamedDependency[Remotes]) -> RemotePage:
        """Each remote system (erp, payment, crm, commerce): its circuit as the breakers of the
        worker processes last reported it (`closed`, `open`, `half_open` while a probe is in
        flight; a remote never reported on is `closed` with `since` null), since when it has been
        down or up again, its consecutive failures, and how many deliveries wait out its outage."""
        return RemotePage(
            items=[
                RemoteResource(
                    name=r.name,
                    state=r.state,
                    since=r.since,
                    consecutive_failures=r.consecutive_failures,
                    waiting=r.waiting,
                )
                for r in await remotes.statuses()
            ]
        )

    @post("/projections/rebuild", status_code=200)
    async def rebuild_projections(
        self, view_store: NamedDependency[SkipValidation[ViewStore]]
    ) -> RebuildResult:
        """Recreate every order view and timeline from the stored events (live delivery goes on;
        events that arrive during the rebuild are caught up by the next delivery)."""
        return RebuildResult(orders=await rebuild(view_store))

    # Before `/dead-letters/{id}/replay`, so that the two read apart at a glance.
    @post("/dead-letters/replay", status_code=200)
    async def replay_matching_dead_letters(
        self, data: JSONBody[ReplayFilterBody], dead_letter_store: NamedDependency[DeadLetters]
    ) -> BulkReplayResult:
        """Deliver again every dead letter that matches the filter and was not replayed yet, as
        the one-letter replay does; answers how many this call replayed, so a repeat answers 0.
        Every field given must match: `consumer` and `event_type` exactly, `error_contains` as a
        substring (case-insensitive for A-Z), `since` (inclusive) and `until` (exclusive) on
        `died_at`, `ids` among the given dead-letter ids. **An empty filter `{}` replays every
        dead letter not replayed yet.** Letters that die while the replay runs are left for the
        next call."""
        return BulkReplayResult(replayed=await dead_letter_store.replay_matching(data.to_filter()))

    @post("/dead-letters/{dead_letter_id:uuid}/replay", status_code=202)
    async def replay_dead_letter(
        self, dead_letter_id: FromPath[UUID], dead_letter_store: NamedDependency[DeadLetters]
    ) -> Response[Any]:
        """Deliver a dead letter again once its cause is fixed; its attempts count anew."""
        outcome = await dead_letter_store.replay(dead_letter_id)
        if outcome is Replay.NOT_FOUND:
            raise ApiError(404, "dead_letter_not_found", f"no dead letter {dead_letter_id}")
        if outcome is Replay.ALREADY_REPLAYED:
            raise ApiError(
                409,
                "already_replayed",
                "this dead letter was replayed; a new failure is a new dead letter",
            )
        if outcome is Replay.UNREPLAYABLE:
            raise ApiError(
                409,
                "dead_letter_unreplayable",
                "this dead letter holds no event to deliver again (its message had no readable "
                "event id); it is kept for inspection",
            )
        return Response(ReplayResult(id=dead_letter_id, status=outcome.value), status_code=202)

"""Inbound back-office events: one endpoint per source, each event applied at most once, and
kept for later when it comes before what it refers to."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from application.inbound import Inbound, InboundOutcome
from entrypoints.http.auth import bound_source, roles
from entrypoints.http.commands import correlation_id
from entrypoints.http.inbound_events import (
    INBOUND_TYPES,
    InboundEventBody,
    UnsupportedEventType,
    command_for,
)
from entrypoints.http.problems import ApiError
from ports.api_keys import Principal, Role, Source
from ports.inbound import InboundEvent


class InboundResult(msgspec.Struct, kw_only=True):
    event_id: str
    #: processed, duplicate (seen before: no effect), or deferred (refers to something not known
    #: yet: kept and applied later)
    status: str


class InboundController(Controller):
    path = "/v1/inbound"
    tags = ["inbound"]

    @post("/{source:str}", guards=[roles(Role.SYSTEM), bound_source], status_code=200)
    async def receive_inbound_event(
        self,
        request: Request[Principal, Any, Any],
        source: FromPath[Source],
        data: JSONBody[InboundEventBody],
        inbound: NamedDependency[Inbound],
    ) -> Response[InboundResult]:
        """Apply one event from a back-office system. The same `event_id` again changes nothing;
        an event that comes too early answers 202 and is applied when it can be. A key sends
        only as the sources it is bound to (403 `source_not_allowed`)."""
        try:
            command = command_for(source.value, data.type, data.data, data.occurred_at)
        except UnsupportedEventType:
            accepted = sorted(
                t for t, (_, sources) in INBOUND_TYPES.items() if source.value in sources
            )
            raise ApiError(
                422, "unsupported_event_type",
                f"{data.type!r} is not an event type the hub takes from {source.value}",
                supported=accepted,
            ) from None  # fmt: skip
        except msgspec.ValidationError as e:
            raise ApiError(
                422, "validation_error", "the event's data does not match its type",
                errors=[{"field": "data", "message": str(e)}],
            ) from e  # fmt: skip
        event = InboundEvent(
            source=source.value,
            event_id=data.event_id,
            type=data.type,
            body=msgspec.to_builtins(data),
            # The key's own source (the guard checked the path names one of them) and its id.
            actor=f"{source.value}:{request.user.key_id}",
            correlation_id=correlation_id(request),
        )
        outcome = await inbound.accept(event, command)
        status = 202 if outcome is InboundOutcome.DEFERRED else 200
        return Response(
            InboundResult(event_id=data.event_id, status=outcome.value), status_code=status
        )

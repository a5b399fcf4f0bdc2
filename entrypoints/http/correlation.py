"""Every request runs under a correlation id: the caller's `X-Correlation-Id` when it is sane, a
new one otherwise. Log lines, the events a command writes and calls to other systems carry it,
and every response names it, error answers and unknown paths included (`name_correlation` runs
on every message the app sends)."""

from __future__ import annotations

import re
import uuid

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry.trace import SpanKind

from ports.correlation import HEADER, correlated
from ports.tracing import span

_SANE = re.compile(r"[A-Za-z0-9._:/-]{1,200}")
_HEADER_KEY = HEADER.lower().encode("latin-1")
_SCOPE_KEY = "orderhub.correlation_id"


def correlation_from(given: str) -> str:
    return given if _SANE.fullmatch(given) else str(uuid.uuid4())


def correlation_of(scope: Scope) -> str:
    """The request's correlation id, decided once per request."""
    store: dict[str, object] = scope  # type: ignore[assignment]
    known = store.get(_SCOPE_KEY)
    if isinstance(known, str):
        return known
    given = next((v for k, v in scope.get("headers", ()) if k == _HEADER_KEY), b"")
    decided = correlation_from(given.decode("latin-1"))
    store[_SCOPE_KEY] = decided
    return decided


class Correlation(ASGIMiddleware):
    """Runs the request under its correlation id (logs, events, outgoing calls) and in a server
    span (when tracing is on)."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        method, path = str(scope.get("method", "GET")), str(scope.get("path", ""))
        with (
            correlated(correlation_of(scope)),
            span(
                f"HTTP {method}",
                SpanKind.SERVER,
                **{"http.request.method": method, "url.path": path},
            ) as current,
        ):

            async def send_noted(message: Message) -> None:
                if message["type"] == "http.response.start":
                    current.set_attribute("http.response.status_code", message["status"])
                await send(message)

            await next_app(scope, receive, send_noted)


async def name_correlation(message: Message, scope: Scope) -> None:
    """A `before_send` hook: every HTTP answer names the request's correlation id."""
    if message["type"] == "http.response.start":
        MutableScopeHeaders.from_message(message)[HEADER] = correlation_of(scope)

"""Bearer API keys: authentication (401), role and source guards (403), channel scoping (404)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

from entrypoints.http.problems import ApiError
from ports.api_keys import ApiKeyStore, Principal, Role, Source

#: Route opt key that makes a route public (health, metrics, schema). Per route, never by path
#: pattern: Litestar's `exclude` patterns are unanchored regular expressions.
PUBLIC = "public"


class ApiKeyAuthentication(AbstractAuthenticationMiddleware):
    def __init__(self, app: ASGIApp, keys: ApiKeyStore, exclude: list[str] | None = None) -> None:
        super().__init__(app, exclude=exclude, exclude_from_auth_key=PUBLIC)
        self._keys = keys

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        scheme, _, secret = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise NotAuthorizedException(
                "send an API key as `Authorization: Bearer <key>`",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = await self._keys.authenticate(secret.strip())
        if principal is None:
            raise NotAuthorizedException(
                "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"}
            )
        return AuthenticationResult(user=principal, auth=None)


def roles(
    *allowed: Role,
) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]:
    """A guard admitting only keys of the given roles. (A coroutine: Litestar runs a plain
    function guard in a worker thread, a hop that cost place-order ~3 % of its CPU.)"""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal: Principal = connection.user
        if principal.role not in allowed:
            raise PermissionDeniedException(
                f"a {principal.role} key may not do this; needs {' or '.join(sorted(allowed))}"
            )

    return guard


async def bound_source(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard on `/v1/inbound/{source}`: a system key sends events only as the back-office
    systems it is bound to (403 `source_not_allowed`), before its body is read. A path naming no
    known source is left to the route, which refuses it as it always has."""
    principal: Principal = connection.user
    try:
        source = Source(str(connection.path_params.get("source")))
    except ValueError:
        return
    if principal.speaks_for(source):
        return
    allowed = sorted(principal.sources or ())
    raise ApiError(
        403, "source_not_allowed",
        f"this key speaks for {', '.join(allowed) or 'no back-office system'}, not {source}",
        allowed_sources=allowed,
    )  # fmt: skip


def may_see_channel(principal: Principal, channel: str | None) -> bool:
    """Channel keys see only their own channel's orders; everyone else who may read sees all."""
    if channel is None:
        return False
    return principal.role is not Role.CHANNEL or principal.channel == channel

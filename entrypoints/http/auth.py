"""Bearer API keys: authentication (401, or 429 for an address that failed it too often), role
and source guards (403), and channel scoping (404)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

from entrypoints.http.problems import ApiError
from entrypoints.http.rate_limit import Window, client_address
from ports.api_keys import ApiKeyStore, Principal, Role, Source

#: Route opt key that makes a route public (health, metrics, schema). Per route, never by path
#: pattern: Litestar's `exclude` patterns are unanchored regular expressions.
PUBLIC = "public"


class TooManyFailures(Exception):
    """Raised when a client address failed authentication too often lately: its keys are not
    looked up (no database work) until its window allows again."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed authentications; retry after {retry_after} s")
        self.retry_after = retry_after


class Authenticator:
    """API keys, with a budget of failures per client address: a key found valid lately is
    looked up (from the cache, mostly) whatever the address; any other only while its address
    is within its budget. So a flood of made-up keys costs a few lookups per address, and never
    the callers whose keys work, even from the same address. (A key this process has not yet
    seen valid, sent from an address over its budget, waits for that address's window.)"""

    def __init__(self, keys: ApiKeyStore, failures: Window) -> None:
        self._keys = keys
        self._failures = failures

    async def authenticate(self, secret: str, address: str) -> Principal | None:
        if not self._keys.vouched_for(secret) and not await self._failures.allows(address):
            raise TooManyFailures(await self._failures.retry_after(address))
        principal = await self._keys.authenticate(secret)  # cached for a few seconds
        if principal is None:
            await self._failures.hit(address)
        return principal


class ApiKeyAuthentication(AbstractAuthenticationMiddleware):
    def __init__(
        self, app: ASGIApp, authenticator: Authenticator, exclude: list[str] | None = None
    ) -> None:
        super().__init__(app, exclude=exclude, exclude_from_auth_key=PUBLIC)
        self._authenticator = authenticator

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        scheme, _, secret = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise NotAuthorizedException(
                "send an API key as `Authorization: Bearer <key>`",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            principal = await self._authenticator.authenticate(
                secret.strip(), client_address(connection.scope)
            )
        except TooManyFailures as e:
            raise ApiError(
                429,
                "too_many_failed_authentications",
                "too many requests with unknown or revoked keys from this address",
                headers={"Retry-After": str(e.retry_after)},
            ) from None
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

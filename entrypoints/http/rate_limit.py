"""Rate limits with the `limits` library (a moving window in Redis or in memory): requests per
API key, and, before any database work, requests per client address to the routes that need no
key and failed authentications per client address."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from entrypoints.http.problems import ApiError
from ports.api_keys import Principal

logger = logging.getLogger("orderhub.http")


def rate_limit_storage(url: str) -> Storage:
    if url.startswith("memory://"):
        return MemoryStorage()
    return RedisStorage(
        url, implementation="redispy", key_prefix="orderhub:ratelimit", wrap_exceptions=True
    )


def client_address(scope: Scope | Any) -> str:
    """The caller's address as the server saw it. Behind a proxy, run the server so that it
    takes the address from the proxy's header (uvicorn `--forwarded-allow-ips`), or every
    caller shares the proxy's budget."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class Window:
    """One limit (`"20/minute"`) under one name, counted per identifier. It fails open: while
    its storage (Redis) is away every request is allowed, and a warning says so once a minute;
    a limit must never be what takes the API, or its health probe, down."""

    def __init__(self, name: str, limit: str, storage: Storage) -> None:
        self.name = name
        self.item: RateLimitItem = parse(limit)
        self._limiter = MovingWindowRateLimiter(storage)
        self._warned_at = -math.inf

    async def hit(self, identifier: str) -> bool:
        """Count one; False when the limit was reached already (then nothing is counted)."""
        try:
            return await self._limiter.hit(self.item, self.name, identifier)
        except StorageError as e:
            return self._fail_open(e)

    async def allows(self, identifier: str) -> bool:
        """Whether one more would be within the limit, counting nothing."""
        try:
            return await self._limiter.test(self.item, self.name, identifier)
        except StorageError as e:
            return self._fail_open(e)

    async def retry_after(self, identifier: str) -> int:
        try:
            stats = await self._limiter.get_window_stats(self.item, self.name, identifier)
        except StorageError as e:
            self._fail_open(e)
            return 1
        return max(1, math.ceil(stats.reset_time - time.time()))

    def _fail_open(self, error: StorageError) -> bool:
        if time.monotonic() - self._warned_at > 60:
            self._warned_at = time.monotonic()
            logger.warning("rate limit %s not counted: its storage is away (%s)", self.name,
                           type(error.storage_error).__name__)  # fmt: skip
        return True

    async def refusal(self, identifier: str, code: str, detail: str) -> ApiError:
        retry_after = await self.retry_after(identifier)
        return ApiError(429, code, detail, headers={"Retry-After": str(retry_after)})


class RateLimit(ASGIMiddleware):
    """Counts requests per API key (not per client address: many channels share a gateway)."""

    scopes = (ScopeType.HTTP,)
    exclude_opt_key = "public"

    def __init__(self, limit: str, storage: Storage) -> None:
        self._window = Window("key", limit, storage)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        principal: Principal | None = scope.get("user")
        if principal is not None and not await self._window.hit(str(principal.key_id)):
            raise await self._window.refusal(
                str(principal.key_id),
                "rate_limited",
                f"more than {self._window.item} requests for this key",
            )
        await next_app(scope, receive, send)


class PublicRouteLimit(ASGIMiddleware):
    """Counts requests per client address to the routes that need no key (health, metrics, the
    schema, the console, webhooks), which anyone who can reach the hub may call."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, limit: str, storage: Storage, public_opt_key: str) -> None:
        self._window = Window("public", limit, storage)
        self._public = public_opt_key

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        handler = scope.get("route_handler")
        if handler is not None and handler.opt.get(self._public):
            address = client_address(scope)
            if not await self._window.hit(address):
                raise await self._window.refusal(
                    address,
                    "rate_limited",
                    f"more than {self._window.item} requests from this address",
                )
        await next_app(scope, receive, send)

"""Per-key rate limits with the `limits` library: a moving window in Redis or in memory."""

from __future__ import annotations

import math
import time

from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from entrypoints.http.problems import ApiError
from ports.api_keys import Principal


def rate_limit_storage(url: str) -> Storage:
    if url.startswith("memory://"):
        return MemoryStorage()
    return RedisStorage(url, implementation="redispy", key_prefix="orderhub:ratelimit")


class RateLimit(ASGIMiddleware):
    """Counts requests per API key (not per client address: many channels share a gateway)."""

    scopes = (ScopeType.HTTP,)
    exclude_opt_key = "public"

    def __init__(self, limit: str, storage: Storage) -> None:
        self._item = parse(limit)
        self._limiter = MovingWindowRateLimiter(storage)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        principal: Principal | None = scope.get("user")
        if principal is not None and not await self._limiter.hit(self._item, str(principal.key_id)):
            stats = await self._limiter.get_window_stats(self._item, str(principal.key_id))
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            raise ApiError(
                429,
                "rate_limited",
                f"more than {self._item} requests for this key",
                headers={"Retry-After": str(retry_after)},
            )
        await next_app(scope, receive, send)

"""Liveness and readiness, for load balancers and orchestrators; no key needed."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import ping
from entrypoints.http.auth import PUBLIC


class Health(msgspec.Struct, kw_only=True):
    status: str
    checks: dict[str, str] = {}


class HealthController(Controller):
    path = "/health"
    tags = ["health"]
    opt = {PUBLIC: True}

    @get("/live")
    async def live(self) -> Health:
        """The process is up."""
        return Health(status="ok")

    @get("/ready")
    async def ready(self, engine: NamedDependency[AsyncEngine]) -> Response[Health]:
        """The database answers (the broker joins this check when workers deliver)."""
        try:
            async with asyncio.timeout(2):
                await ping(engine)
            checks = {"database": "ok"}
        except Exception as e:  # noqa: BLE001 - any failure means not ready
            checks = {"database": f"unavailable: {type(e).__name__}"}
        ok = all(v == "ok" for v in checks.values())
        return Response(
            Health(status="ok" if ok else "unavailable", checks=checks),
            status_code=200 if ok else 503,
        )

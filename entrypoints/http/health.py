"""Liveness and readiness, for load balancers and orchestrators; no key needed."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from entrypoints.http.auth import PUBLIC
from entrypoints.readiness import Health, Readiness


class HealthController(Controller):
    path = "/health"
    tags = ["health"]
    opt = {PUBLIC: True}

    @get("/live")
    async def live(self) -> Health:
        """The process is up."""
        return Health(status="ok")

    @get("/ready")
    async def ready(self, readiness: NamedDependency[Readiness]) -> Response[Health]:
        """Ready to take work: the database answers, its schema is not older than the code, and
        the broker answers. 503 names what is down."""
        health = await readiness.check()
        return Response(health, status_code=200 if health.status == "ok" else 503)

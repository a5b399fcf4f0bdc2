"""Liveness and readiness, for load balancers and orchestrators; no key needed."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec

from entrypoints.http.auth import PUBLIC
from entrypoints.readiness import Health, Readiness


class HealthController(Controller):
    path = "/health"
    tags = ["health"]
    opt = {PUBLIC: True}

    @get("/live")
    async def check_liveness(self) -> Health:
        """The process is up."""
        return Health(status="ok")

    @get(
        "/ready",
        responses={
            200: ResponseSpec(Health, description="the database, schema and broker are ready"),
            503: ResponseSpec(Health, description="not ready: `checks` names what is down"),
        },
    )
    async def check_readiness(self, readiness: NamedDependency[Readiness]) -> Response[Health]:
        """Ready to take work: the database answers, its schema is not older than the code, and
        the broker answers. 503 names what is down."""
        health = await readiness.check()
        return Response(health, status_code=200 if health.status == "ok" else 503)

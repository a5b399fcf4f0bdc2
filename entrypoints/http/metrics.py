"""`GET /metrics` in the Prometheus text format; no key (scrapers sit on the private network)."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from entrypoints.http.auth import PUBLIC
from entrypoints.metrics import HubState


class MetricsController(Controller):
    path = "/metrics"
    opt = {PUBLIC: True}
    include_in_schema = False

    @get("/")
    async def metrics(self, hub_state: NamedDependency[HubState]) -> Response[bytes]:
        """Limited per client address like every public route; the database is read at most
        once per METRICS_STATE_SECONDS whoever scrapes."""
        body = await hub_state.scrape()
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

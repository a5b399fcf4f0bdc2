"""`GET /metrics` in the Prometheus text format; no key (scrapers sit on the private network)."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from entrypoints.http.auth import PUBLIC
from entrypoints.metrics import scrape
from read_models.operations import Operations
from read_models.remotes import Remotes


class MetricsController(Controller):
    path = "/metrics"
    opt = {PUBLIC: True}
    include_in_schema = False

    @get("/")
    async def metrics(
        self, operations: NamedDependency[Operations], remotes: NamedDependency[Remotes]
    ) -> Response[bytes]:
        body = await scrape(operations, remotes, operations.now())
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

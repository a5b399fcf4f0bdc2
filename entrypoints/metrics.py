"""Prometheus metrics. This process's own (counters and histograms, which add up across
processes): HTTP requests by route, method and status (Litestar's Prometheus middleware),
commands by type and outcome with their latency, and the process and its garbage collector
(prometheus_client's default collectors). The hub's state (gauges read from the database at each
scrape: outbox lag, deliveries, dead letters, stuck workflows, the remotes' circuits) is the same
in every process that serves it: aggregate it with `max`, never `sum` (their help says so)."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter as Tally
from collections.abc import Callable
from datetime import datetime

import prometheus_client
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from read_models.operations import STUCK_KINDS, Operations
from read_models.remotes import Remotes

REGISTRY = CollectorRegistry()
#: The hub's state: the same value in every process that serves it.
_GLOBAL = " (the hub's state, the same in every process: aggregate with max, not sum)"

#: `orderhub_http_requests_total` and `orderhub_http_request_duration_seconds` by method, route
#: (its template, so that ids do not make a series each) and status; paths that match no route,
#: `/metrics` and `/health` are left out. On prometheus_client's default registry, with the
#: process and GC collectors.
HTTP_METRICS = PrometheusConfig(
    app_name="orderhub",
    prefix="orderhub_http",
    group_path=True,
    exclude_unhandled_paths=True,
    exclude=["^/metrics", "^/health"],
    buckets=[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
)

COMMANDS = Counter(
    "orderhub_commands", "Commands handled", ["command", "outcome"], registry=REGISTRY
)
COMMAND_SECONDS = Histogram(
    "orderhub_command_seconds",
    "Time to handle a command, retries included",
    ["command"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
OUTBOX_UNPUBLISHED = Gauge(
    "orderhub_outbox_unpublished", "Events not yet relayed" + _GLOBAL, registry=REGISTRY
)
OUTBOX_LAG = Gauge(
    "orderhub_outbox_lag_seconds", "Age of the oldest unrelayed event" + _GLOBAL, registry=REGISTRY
)
RELAYED_LAST_MINUTE = Gauge(
    "orderhub_events_relayed_last_minute",
    "Events relayed in the last minute" + _GLOBAL,
    registry=REGISTRY,
)
DELIVERIES_PENDING = Gauge(
    "orderhub_deliveries_pending",
    "Deliveries published, not processed yet" + _GLOBAL,
    registry=REGISTRY,
)
CONSUMER_FAILURES = Gauge(
    "orderhub_deliveries_failing",
    "Pending deliveries whose last attempt failed" + _GLOBAL,
    registry=REGISTRY,
)
DEAD_LETTERS = Gauge(
    "orderhub_dead_letters", "Messages in the dead-letter store" + _GLOBAL, registry=REGISTRY
)
REMOTE_CIRCUIT_OPEN = Gauge(
    "orderhub_remote_circuit_open",
    "1 while the remote's circuit is open (calls fail fast), 0 when closed or half-open" + _GLOBAL,
    ["remote"],
    registry=REGISTRY,
)
STUCK = Gauge(
    "orderhub_stuck_workflows", "Workflows past their SLA" + _GLOBAL, ["kind"], registry=REGISTRY
)


def observe_command(command: str, outcome: str, seconds: float) -> None:
    COMMANDS.labels(command, outcome).inc()
    COMMAND_SECONDS.labels(command).observe(seconds)


class HubState:
    """The gauges of the hub's state, read from the database at most once per `every` seconds
    however many scrapers ask (one read at a time; scrapers meanwhile get the last values): a
    scrape costs a few COUNT queries, and several Prometheus servers scraping every 5 s must not
    multiply them."""

    def __init__(
        self,
        operations: Operations,
        remotes: Remotes,
        every: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._operations = operations
        self._remotes = remotes
        self._every = every
        self._monotonic = monotonic
        self._fresh_until = -math.inf
        self._reading = asyncio.Lock()

    async def scrape(self) -> bytes:
        """This process's counters, and the hub's state as of at most `every` seconds ago."""
        if self._monotonic() >= self._fresh_until and not self._reading.locked():
            async with self._reading:
                await self._read(self._operations.now())
                self._fresh_until = self._monotonic() + self._every
        return generate_latest(REGISTRY) + generate_latest(prometheus_client.REGISTRY)

    async def _read(self, now: datetime) -> None:
        outbox = await self._operations.outbox(now)
        OUTBOX_UNPUBLISHED.set(outbox.unpublished)
        OUTBOX_LAG.set(outbox.oldest_unpublished_age_seconds)
        RELAYED_LAST_MINUTE.set(outbox.published_last_minute)
        counts = await self._operations.counts()
        DELIVERIES_PENDING.set(counts["deliveries_pending"])
        CONSUMER_FAILURES.set(counts["deliveries_failing"])
        DEAD_LETTERS.set(counts["dead_letters"])
        stuck = Tally(s.kind for s in await self._operations.stuck(now))
        for kind in STUCK_KINDS:
            STUCK.labels(kind).set(stuck[kind])
        for remote in await self._remotes.statuses():
            REMOTE_CIRCUIT_OPEN.labels(remote.name).set(1 if remote.circuit_open else 0)

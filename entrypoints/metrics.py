"""Prometheus metrics, in two registries. `REGISTRY`, this process's own (they add up across
processes: `sum` them): HTTP requests by route, method and status (Litestar's Prometheus
middleware), commands by type and outcome with their latency, messages handed to each consumer
by outcome with the time spent on them, the relay's batches and events, the connections in use
of each pool, and the process and its garbage collector (prometheus_client's default
collectors); every process serves it (`/metrics` of the API, the relay's and the worker's
`--health-port`). `HUB_REGISTRY`, the hub's state (gauges read from the database: outbox lag,
deliveries, dead letters, stuck workflows, the remotes' circuits), the same in every process
that serves it: only API processes serve it, and it is aggregated with `max`, never `sum`
(their help says so; deploy/'s dashboard and alerts do)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial

import prometheus_client
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import connections_in_use
from read_models.operations import Operations
from read_models.remotes import Remotes

#: This process's own metrics.
REGISTRY = CollectorRegistry()
#: The hub's state, read from the database (`HubState`): served by API processes only.
HUB_REGISTRY = CollectorRegistry()
#: The hub's state: the same value in every (API) process that serves it.
_GLOBAL = " (the hub's state, the same in every API process: aggregate with max, not sum)"

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
#: Outcomes of a message handed to a consumer that are failures (`outbox.delivery.Outcome`, and
#: `error`: the delivery's own bookkeeping failed, e.g. the database was away).
FAILED_OUTCOMES = ("retry", "dead", "error")
CONSUMER_MESSAGES = Counter(
    "orderhub_consumer_messages",
    "Messages handed to a consumer by this process, by outcome: done, duplicate, busy, wait, "
    "outage (processed or set aside) or retry, dead, error (failed)",
    ["consumer", "outcome"],
    registry=REGISTRY,
)
CONSUMER_SECONDS = Histogram(
    "orderhub_consumer_handling_seconds",
    "Time spent on one message handed to a consumer, its bookkeeping included (in a batch: "
    "its own step and an even share of the batch's statements)",
    ["consumer", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
    registry=REGISTRY,
)
RELAY_BATCHES = Counter(
    "orderhub_relay_batches", "Batches of outbox events this relay published", registry=REGISTRY
)
RELAY_EVENTS = Counter(
    "orderhub_relay_events", "Outbox events this relay published", registry=REGISTRY
)
RELAY_BATCH_EVENTS = Histogram(
    "orderhub_relay_batch_events",
    "Events per batch this relay published",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500),
    registry=REGISTRY,
)
RELAY_REPUBLISHED = Counter(
    "orderhub_relay_republished",
    "Deliveries this relay published again because they were not processed in time",
    registry=REGISTRY,
)
POOL_IN_USE = Gauge(
    "orderhub_db_pool_connections_in_use",
    "Database connections this process has lent out of its pool, by engine (write, read)",
    ["engine"],
    registry=REGISTRY,
)
POOL_SIZE = Gauge(
    "orderhub_db_pool_size",
    "Most connections this process's pool opens, by engine (write, read)",
    ["engine"],
    registry=REGISTRY,
)
OUTBOX_UNPUBLISHED = Gauge(
    "orderhub_outbox_unpublished", "Events not yet relayed" + _GLOBAL, registry=HUB_REGISTRY
)
OUTBOX_LAG = Gauge(
    "orderhub_outbox_lag_seconds",
    "Age of the oldest unrelayed event" + _GLOBAL,
    registry=HUB_REGISTRY,
)
RELAYED_LAST_MINUTE = Gauge(
    "orderhub_events_relayed_last_minute",
    "Events relayed in the last minute" + _GLOBAL,
    registry=HUB_REGISTRY,
)
DELIVERIES_PENDING = Gauge(
    "orderhub_deliveries_pending",
    "Deliveries published, not processed yet" + _GLOBAL,
    registry=HUB_REGISTRY,
)
CONSUMER_FAILURES = Gauge(
    "orderhub_deliveries_failing",
    "Pending deliveries whose last attempt failed" + _GLOBAL,
    registry=HUB_REGISTRY,
)
DEAD_LETTERS = Gauge(
    "orderhub_dead_letters", "Messages in the dead-letter store" + _GLOBAL, registry=HUB_REGISTRY
)
REMOTE_CIRCUIT_OPEN = Gauge(
    "orderhub_remote_circuit_open",
    "1 while the remote's circuit is open (calls fail fast), 0 when closed or half-open" + _GLOBAL,
    ["remote"],
    registry=HUB_REGISTRY,
)
STUCK = Gauge(
    "orderhub_stuck_workflows",
    "Workflows past their SLA" + _GLOBAL,
    ["kind"],
    registry=HUB_REGISTRY,
)


def observe_command(command: str, outcome: str, seconds: float) -> None:
    COMMANDS.labels(command, outcome).inc()
    COMMAND_SECONDS.labels(command).observe(seconds)


def observe_delivery(consumer: str, outcome: str, seconds: float) -> None:
    CONSUMER_MESSAGES.labels(consumer, outcome).inc()
    CONSUMER_SECONDS.labels(consumer, outcome).observe(seconds)


def observe_relay_batch(events: int) -> None:
    RELAY_BATCHES.inc()
    RELAY_EVENTS.inc(events)
    RELAY_BATCH_EVENTS.observe(events)


def observe_republished(deliveries: int) -> None:
    RELAY_REPUBLISHED.inc(deliveries)


def watch_pool(name: str, engine: AsyncEngine, size: int) -> AsyncEngine:
    """`engine`, its pool's connections in use read at each scrape under `name` (the latest
    engine of that name in the process: one per process outside tests)."""
    POOL_IN_USE.labels(name).set_function(partial(connections_in_use, engine))
    POOL_SIZE.labels(name).set(size)
    return engine


def process_metrics() -> bytes:
    """This process's own metrics (what the relay and the worker serve)."""
    return generate_latest(REGISTRY) + generate_latest(prometheus_client.REGISTRY)


#: The stuck-workflow counts are read this many times less often than the other gauges (once a
#: minute by default): they walk every return received past its SLA (the statuses of returns
#: live only in the order views' JSON), which grows with the hub's history: 113-297 ms per read
#: at 100,000 such returns, 449-651 ms at 300,000 (`python -m bench.stuck_counts N`, this
#: machine, 5 reads each); and they measure SLAs of minutes to days.
STUCK_SPACING = 12


class HubState:
    """The gauges of the hub's state, read from the database at most once per `every` seconds
    however many scrapers ask (one read at a time; scrapers meanwhile get the last values): a
    scrape costs a few COUNT queries, and several Prometheus servers scraping every 5 s must not
    multiply them. The stuck-workflow counts, dearer, at most once per `STUCK_SPACING` × `every`."""

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
        self._stuck_fresh_until = -math.inf
        self._reading = asyncio.Lock()

    async def scrape(self) -> bytes:
        """This process's counters, and the hub's state as of at most `every` seconds ago (the
        stuck counts `STUCK_SPACING` times that)."""
        if self._monotonic() >= self._fresh_until and not self._reading.locked():
            async with self._reading:
                await self._read(self._operations.now())
                self._fresh_until = self._monotonic() + self._every
        return process_metrics() + generate_latest(HUB_REGISTRY)

    async def _read(self, now: datetime) -> None:
        outbox = await self._operations.outbox(now)
        OUTBOX_UNPUBLISHED.set(outbox.unpublished)
        OUTBOX_LAG.set(outbox.oldest_unpublished_age_seconds)
        RELAYED_LAST_MINUTE.set(outbox.published_last_minute)
        counts = await self._operations.counts()
        DELIVERIES_PENDING.set(counts["deliveries_pending"])
        CONSUMER_FAILURES.set(counts["deliveries_failing"])
        DEAD_LETTERS.set(counts["dead_letters"])
        if self._monotonic() >= self._stuck_fresh_until:
            for kind, count in (await self._operations.stuck_counts(now)).items():
                STUCK.labels(kind).set(count)
            self._stuck_fresh_until = self._monotonic() + self._every * STUCK_SPACING
        for remote in await self._remotes.statuses():
            REMOTE_CIRCUIT_OPEN.labels(remote.name).set(1 if remote.circuit_open else 0)

"""The relay's and the worker's probes: the server answers each route as the API does (JSON
health, 503 naming what is down, the Prometheus text), a stalled relay or a stopped worker is
not live, a readiness check its event loop never runs is down, and a taken port fails the
start in one line."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from entrypoints.container import build_container
from entrypoints.liveness import Progress, threads_alive
from entrypoints.preflight import StartFailure
from entrypoints.probes import Probes, ProbeServer, ready_on
from entrypoints.readiness import Health
from entrypoints.settings import Settings
from entrypoints.worker_process import start_worker, worker_probes
from tests.unit.adapters.timing import FakeMonotonic

UP = Health(status="ok", checks={"relay": "ok"})
BROKER_DOWN = Health(
    status="unavailable",
    checks={"database": "ok", "schema": "ok", "broker": "unavailable: ConnectionError"},
)


def broken() -> Health:
    raise RuntimeError("a probe that fails")


@pytest.fixture
def server() -> Iterator[ProbeServer]:
    running = ProbeServer("127.0.0.1", 0)
    running.start(Probes(live=lambda: UP, ready=lambda: BROKER_DOWN, metrics=lambda: b"m 1\n"))
    yield running
    running.close()


def test_each_route_answers_as_the_apis_do(server: ProbeServer) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=5) as client:
        live = client.get("/health/live")
        ready = client.get("/health/ready")
        metrics = client.get("/metrics")
        unknown = client.get("/health")

    assert (live.status_code, live.json()) == (200, {"status": "ok", "checks": {"relay": "ok"}})
    assert ready.status_code == 503
    assert ready.json()["checks"]["broker"] == "unavailable: ConnectionError"
    assert ready.headers["content-type"] == "application/json"
    assert (metrics.status_code, metrics.text) == (200, "m 1\n")
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert unknown.status_code == 404


def test_a_probe_that_fails_answers_503_with_its_kind_of_failure() -> None:
    server = ProbeServer("127.0.0.1", 0)
    server.start(Probes(live=broken, ready=broken, metrics=lambda: b""))
    try:
        answer = httpx.get(f"http://127.0.0.1:{server.port}/health/live", timeout=5)
    finally:
        server.close()

    assert (answer.status_code, answer.json()["checks"]) == (
        503, {"probe": "unavailable: RuntimeError"}
    )  # fmt: skip


def test_a_taken_port_fails_the_start_in_one_line_naming_the_option() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartFailure) as failure:
            ProbeServer("127.0.0.1", port)

    assert str(failure.value) == (
        f"cannot listen on 127.0.0.1:{port}: the port is in use; hint: stop what listens "
        f"there, or pass another port (--health-port {port + 1})"
    )


def test_a_relay_whose_passes_stop_is_stalled_after_the_window() -> None:
    passes, watch = [0], FakeMonotonic()
    live = Progress("relay", lambda: passes[0], within=120.0, monotonic=watch)

    watch.advance(100)
    passes[0] += 1
    moving = live()
    watch.advance(120)
    still_within = live()
    watch.advance(1)
    stalled = live()
    passes[0] += 1
    again = live()

    assert [h.status for h in (moving, still_within, stalled, again)] == [
        "ok", "ok", "unavailable", "ok"
    ]  # fmt: skip
    assert stalled.checks == {"relay": "stalled: no pass for 121 s"}


def test_threads_stopped_or_missing_are_named() -> None:
    done = threading.Thread(target=lambda: None)
    done.start()
    done.join()
    gate = threading.Event()
    running = threading.Thread(target=gate.wait)
    running.start()
    try:
        health = threads_alive(
            {"workers": lambda: [running, done], "loop": lambda: [running], "none": list}
        )
    finally:
        gate.set()
        running.join()

    assert health.status == "unavailable"
    assert health.checks == {
        "workers": "unavailable: 1 of 2 stopped",
        "loop": "ok",
        "none": "unavailable: none running",
    }


def test_a_readiness_check_on_a_stalled_or_closed_loop_is_down() -> None:
    loop, stalled = asyncio.new_event_loop(), threading.Event()
    running = threading.Thread(target=loop.run_forever)
    running.start()
    loop.call_soon_threadsafe(stalled.wait)  # a callback that blocks the loop, as a stall would

    async def check() -> Health:
        return UP

    try:
        health = ready_on(loop, check, within=0.2)()
    finally:
        stalled.set()
        loop.call_soon_threadsafe(loop.stop)
        running.join()
    loop.close()
    closed = ready_on(loop, check)()

    assert health.checks == {"event_loop": "unavailable: no answer within 0.2 s"}
    assert closed.checks == {"event_loop": "unavailable: closed"}


def test_a_worker_is_live_while_its_threads_run_and_not_once_stopped(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    container = build_container(settings)  # memory:// broker: the worker's threads, no server
    worker = start_worker(container, threads=2)
    try:
        probes = worker_probes(container, worker)
        running = probes.live()
    finally:
        worker.stop(timeout=5_000)
    stopped = probes.live()

    assert running == Health(
        status="ok", checks={"worker_threads": "ok", "consumers": "ok", "event_loop": "ok"}
    )
    assert stopped.status == "unavailable"
    assert stopped.checks["worker_threads"] == "unavailable: 2 of 2 stopped"
    assert stopped.checks["event_loop"] == "unavailable: 1 of 1 stopped"

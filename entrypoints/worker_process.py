"""`orderhub worker`: Dramatiq consumers of every queue, on the configured broker."""

from __future__ import annotations

import signal
import threading

import dramatiq.asyncio
from dramatiq import Worker

from entrypoints.container import Container
from entrypoints.liveness import threads_alive
from entrypoints.metrics import process_metrics
from entrypoints.probes import Probes, ProbeServer, ready_on
from entrypoints.readiness import Health, Readiness


def start_worker(container: Container, threads: int = 8) -> Worker:
    broker = container.broker()
    container.actors()  # declares the actors; each builds its delivery on first use
    worker = Worker(broker, worker_threads=threads, worker_timeout=200)
    worker.start()
    return worker


def run_worker(container: Container, threads: int = 8, probes: ProbeServer | None = None) -> int:
    """Consume until SIGINT/SIGTERM, answering `probes` meanwhile if given; in-flight messages
    finish (or go back to their queue)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    worker = start_worker(container, threads)
    if probes is not None:
        probes.start(worker_probes(container, worker))
    try:
        stop.wait()
    finally:
        if probes is not None:
            probes.close()
        worker.stop(timeout=10_000)
    return 0


def worker_probes(container: Container, worker: Worker) -> Probes:
    """Live while every worker thread, every queue's consumer thread and the event loop the
    deliveries run on are running; ready as the API is (database, schema, broker), checked on
    that event loop."""
    loop_thread = dramatiq.asyncio.get_event_loop_thread()
    assert loop_thread is not None, "the AsyncIO middleware starts it with the worker"

    def live() -> Health:
        return threads_alive(
            {
                "worker_threads": lambda: worker.workers,
                "consumers": worker.consumers.values,
                "event_loop": lambda: [loop_thread],
            }
        )

    return Probes(
        live=live,
        ready=ready_on(
            loop_thread.loop, Readiness(container.read_engine(), container.broker()).check
        ),
        metrics=process_metrics,
    )

"""`orderhub worker`: Dramatiq consumers of every queue, on the configured broker."""

from __future__ import annotations

import signal
import threading

from dramatiq import Worker

from entrypoints.container import Container


def start_worker(container: Container, threads: int = 8) -> Worker:
    broker = container.broker()
    container.actors()  # declares the actors; each builds its delivery on first use
    worker = Worker(broker, worker_threads=threads, worker_timeout=200)
    worker.start()
    return worker


def run_worker(container: Container, threads: int = 8) -> int:
    """Consume until SIGINT/SIGTERM; in-flight messages finish (or go back to their queue)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    worker = start_worker(container, threads)
    stop.wait()
    worker.stop(timeout=10_000)
    return 0

"""A Dramatiq worker process on orderhub's Redis broker settings, for the killed-worker test.

`python -m tests.e2e.killable_worker REDIS_URL MODE`: MODE `hang` marks the message started and
hangs (to be killed with SIGKILL); MODE `finish` marks it done.
"""

from __future__ import annotations

import sys
import threading
import time

import redis
from dramatiq import Actor, Worker

from adapters.dramatiq.broker import make_broker

QUEUE = "orderhub.killtest"


def main(url: str, mode: str) -> None:
    broker = make_broker(url)
    marks = redis.Redis.from_url(url)

    def work(token: str) -> None:
        marks.rpush(f"killtest:{mode}", token)
        if mode == "hang":
            time.sleep(3600)

    Actor(work, broker=broker, actor_name="killtest", queue_name=QUEUE, priority=0, options={})
    worker = Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""A worker killed with SIGKILL mid-message: with orderhub's broker settings (short heartbeat,
frequent maintenance) its message is back in the queue within seconds, not hours."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import redis
from dramatiq import Actor

from adapters.dramatiq.broker import HEARTBEAT_TIMEOUT_MS, make_broker
from tests.e2e.killable_worker import QUEUE
from tests.redis_db import emptied

REDIS_URL = "redis://127.0.0.1:6379/10"


def spawn(mode: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.killable_worker", REDIS_URL, mode],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for(predicate: object, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s")


@pytest.fixture
def marks() -> Iterator[redis.Redis]:
    with emptied(REDIS_URL) as client:
        yield client


def test_a_killed_worker_s_message_comes_back_within_seconds(marks: redis.Redis) -> None:
    broker = make_broker(REDIS_URL)
    actor = Actor(
        lambda token: None,
        broker=broker,
        actor_name="killtest",
        queue_name=QUEUE,
        priority=0,
        options={},
    )
    hanging = spawn("hang")
    finishing: subprocess.Popen[bytes] | None = None
    try:
        actor.send("order-42")
        wait_for(lambda: marks.llen("killtest:hang") == 1, timeout=30)
        os.kill(hanging.pid, signal.SIGKILL)
        hanging.wait(timeout=10)
        killed_at = time.monotonic()
        finishing = spawn("finish")
        wait_for(lambda: marks.lrange("killtest:finish", 0, -1) == [b"order-42"], timeout=60)
        back_after = time.monotonic() - killed_at
        print(
            f"message back and done {back_after:.1f} s after SIGKILL (heartbeat timeout {HEARTBEAT_TIMEOUT_MS} ms)"
        )
        assert back_after < 45
    finally:
        for process in (hanging, finishing):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=10)

"""`orderhub demo` as a new user runs it: a simulated day that reconciles, then a live API."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ORDERHUB = str(Path(sys.executable).with_name("orderhub"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_demo_plays_a_day_that_reconciles(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/demo.db"}
    done = subprocess.run(
        [ORDERHUB, "demo", "--orders", "60", "--no-serve", "--fresh"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "reconciles    yes" in done.stdout
    placed = int(re.search(r"orders\s+(\d+) placed", done.stdout).group(1))  # type: ignore[union-attr]
    assert placed >= 40
    assert re.search(r"returns\s+[1-9]\d* ", done.stdout), "some returns were made"
    assert re.search(r"refunds\s+[1-9]", done.stdout), "some refunds were issued"


def test_after_the_day_the_api_serves_what_it_left(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/demo.db"}
    demo = subprocess.Popen(
        [ORDERHUB, "demo", "--orders", "20", "--fresh", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        ready = False
        while time.monotonic() < deadline and not ready:
            try:
                ready = (
                    httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200
                )
            except httpx.HTTPError:
                time.sleep(0.5)
        assert ready, "the API did not come up"
        created = subprocess.run(
            [ORDERHUB, "keys", "create", "--role", "agent"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        key = created.stdout.strip().splitlines()[-1]
        stock = httpx.get(
            f"http://127.0.0.1:{port}/v1/inventory/MUG-BLUE",
            headers={"Authorization": f"Bearer {key}"},
        )
        assert stock.status_code == 200
        assert stock.json()["locations"], "the demo stocked the catalogue"
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait(timeout=10)

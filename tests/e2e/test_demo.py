"""`orderhub demo` as a new user runs it: a simulated day that reconciles, then a live API."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
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
        shown = _until_line(demo, "curl -s", deadline=time.monotonic() + 240)
        agent_key = re.search(r"Bearer (ohk_\S+?)\"", shown)
        assert agent_key, shown
        # The curl of the invitation, the moment it is shown, without retrying: it is served.
        tried = httpx.get(
            f"http://127.0.0.1:{port}/v1/orders?limit=3",
            headers={"Authorization": f"Bearer {agent_key.group(1)}"},
            timeout=30,
        )
        assert tried.status_code == 200, tried.text
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


def _until_line(process: subprocess.Popen[str], marker: str, deadline: float) -> str:
    """The process's output up to and including the first line holding `marker` (bounded). A
    thread reads the pipe, so that a line already buffered is never waited for."""
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or ()],
                     daemon=True).start()  # fmt: skip
    seen: list[str] = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            seen.append(lines.get(timeout=min(left, 1.0)))
        except queue.Empty:
            continue
        if marker in seen[-1]:
            return "".join(seen)
    raise AssertionError(f"no line with {marker!r} in:\n{''.join(seen)[-3000:]}")

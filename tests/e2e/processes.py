"""The hub as separate processes (API, relay, worker) on PostgreSQL and Redis, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx

#: Every back-office source a system key may speak for (`orderhub keys create --source`).
SOURCES = ("erp", "warehouse", "payment", "crm")

ORDERHUB = str(Path(sys.executable).with_name("orderhub"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Hub:
    """`orderhub serve`, `relay` and `worker` as child processes; stopped by `close`."""

    def __init__(self, database_url: str, broker_url: str, log_dir: Path, **env: str) -> None:
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "BROKER_URL": broker_url,
            "ERP_GRACE_SECONDS": "1",
            "DELIVERY_TIMEOUT_SECONDS": "5",
            **env,
        }
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def key(self, role: str, channel: str | None = None) -> str:
        args = ["keys", "create", "--role", role] + (["--channel", channel] if channel else [])
        if role == "system":  # one key for the whole simulated back office
            args += [arg for source in SOURCES for arg in ("--source", source)]
        done = subprocess.run(
            [ORDERHUB, *args], env=self.env, capture_output=True, text=True, timeout=60, check=True
        )
        return done.stdout.strip().splitlines()[-1]

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self._log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [ORDERHUB, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes[name] = process
        return process

    def serve(self, *names: str) -> list[str]:
        """One more API process (`orderhub serve`) per name, each on a port of its own; their
        URLs, once every one of them is ready."""
        urls = []
        for name in names:
            port = free_port()
            self.start(name, "serve", "--port", str(port))
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            wait_for(partial(_ready, url), timeout=60, what=f"the API at {url} to come up")
        return urls

    def start_all(self) -> None:
        self.start("api", "serve", "--port", str(self.port))
        self.start("relay", "relay")
        self.start("worker", "worker", "--threads", "4")
        wait_for(lambda: _ready(self.url), timeout=60, what="the API to come up")

    def log(self, name: str) -> str:
        return (self._log_dir / f"{name}.log").read_text(errors="replace")

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll until `predicate` returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")

"""Child processes of a benchmark (orderhub serve / relay / worker, the bare app, load generators),
their memory (RSS from /proc), throwaway databases and the Redis database the broker uses."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import redis

from bench.bulk_load import connect, create_database, drop_database, pg_url

#: Every back-office source a system key may speak for (`orderhub keys create --source`).
SOURCES = ("erp", "warehouse", "payment", "crm")

ORDERHUB = str(Path(sys.executable).with_name("orderhub"))
PYTHON = sys.executable
#: Redis database of the benchmark's broker (flushed at start and between runs).
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/8")
LOG_DIR = Path(os.environ.get("BENCH_LOG_DIR", "/tmp/orderhub-bench-logs"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident set size of `pid` and its descendants, in MB (VmRSS from /proc)."""
    total = 0
    for p in [pid, *_descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return round(total / 1024, 1)


def _cpu_seconds(stat: str) -> float:
    """utime + stime + cutime + cstime of a /proc/<pid>/stat line, in seconds."""
    fields = stat.rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time `pid` used so far (user + system, its waited-for children included)."""
    try:
        return _cpu_seconds(Path(f"/proc/{pid}/stat").read_text())
    except (FileNotFoundError, ProcessLookupError):
        return 0.0


def cpu_seconds_of(command: str) -> float:
    """CPU time used so far by every live process whose name starts with `command` (e.g. all of
    PostgreSQL's backends; one that exits between two readings takes its time with it)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if stat.split("(", 1)[1].rsplit(")", 1)[0].startswith(command):
            total += _cpu_seconds(stat)
    return total


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat; busy leaves out idle and iowait."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)


class CpuMeter:
    """CPU used between `__init__` and `read` by the named processes, PostgreSQL, Redis, and the
    whole machine."""

    def __init__(self, processes: dict[str, subprocess.Popen[bytes]]) -> None:
        self._pids = {name: p.pid for name, p in processes.items() if p.poll() is None}
        self._start = self._sample()

    def _sample(self) -> dict[str, Any]:
        seconds = {name: cpu_seconds(pid) for name, pid in self._pids.items()}
        seconds["postgres"] = cpu_seconds_of("postgres")
        seconds["redis"] = cpu_seconds_of("redis-server")
        return {"at": time.monotonic(), "seconds": seconds, "ticks": machine_ticks()}

    def read(self) -> dict[str, Any]:
        """{"pct": {process: % of one core}, "machine_busy_pct": % of all cores, "seconds": …}."""
        end = self._sample()
        wall = end["at"] - self._start["at"]
        used = {n: end["seconds"][n] - self._start["seconds"][n] for n in end["seconds"]}
        busy = end["ticks"][0] - self._start["ticks"][0]
        total = end["ticks"][1] - self._start["ticks"][1]
        return {
            "seconds": {n: round(v, 2) for n, v in used.items()},
            "pct": {n: round(100 * v / wall) for n, v in used.items()},
            "machine_busy_pct": round(100 * busy / total) if total else None,
            "wall_s": round(wall, 2),
        }


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return out
    for child in children:
        out += [int(child), *_descendants(int(child))]
    return out


def flush_broker() -> None:
    redis.Redis.from_url(BROKER_URL).flushdb()


class Database:
    """A throwaway PostgreSQL database, migrated to the newest schema; dropped by `drop`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.url = pg_url(name)

    @classmethod
    async def create(cls, label: str) -> Database:
        return cls(await create_database(f"orderhub_bench_{os.getpid()}_{label}"))

    async def execute(self, *statements: str) -> None:
        conn = await connect(self.name)
        try:
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        conn = await connect(self.name)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def fetchval(self, sql: str, *args: Any) -> Any:
        conn = await connect(self.name)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    async def drop(self) -> None:
        await drop_database(self.name)


class Processes:
    """Named child processes with logs under LOG_DIR; `stop` / `close` end them by pid."""

    def __init__(self, database_url: str, **env: str) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "BROKER_URL": BROKER_URL,
            "RATE_LIMIT": "1000000/second",  # the default 200/s per key would refuse the load
            # Counted in each process, as before the counters followed BROKER_URL into Redis: a
            # moving window there keeps a list as long as the limit (1M entries per key here),
            # a Redis call per request that measures the limit, not the hub.
            "RATE_LIMIT_STORAGE": "memory://",
            "LOG_LEVEL": "WARNING",
            "DELIVERY_TIMEOUT_SECONDS": "600",  # no redelivery of what the bench leaves queued
            **env,
        }
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def key(self, role: str, channel: str | None = None) -> str:
        args = ["keys", "create", "--role", role] + (["--channel", channel] if channel else [])
        if role == "system":  # one key for the whole simulated back office
            args += [arg for source in SOURCES for arg in ("--source", source)]
        done = subprocess.run(
            [ORDERHUB, *args], env=self.env, capture_output=True, text=True, timeout=60, check=True
        )
        return done.stdout.strip().splitlines()[-1]

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (LOG_DIR / f"{name}.log").open("ab")
        process = subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.running[name] = process
        return process

    def orderhub(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        return self.start(name, [ORDERHUB, *args])

    def serve(self, name: str = "api") -> str:
        port = free_port()
        self.orderhub(name, "serve", "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: ready(url), 60, f"{name} on {url}")
        return url

    def rss(self) -> dict[str, float]:
        return {n: rss_mb(p.pid) for n, p in self.running.items() if p.poll() is None}

    def stop(self, name: str, timeout: float = 30) -> None:
        process = self.running.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def close(self) -> None:
        for name in list(self.running):
            self.stop(name)


def ready(url: str, path: str = "/health/live") -> bool:
    try:
        return httpx.get(url + path, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")

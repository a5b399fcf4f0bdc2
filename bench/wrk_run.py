"""Run wrk with one of the scripts in bench/wrk and parse the JSON line its `done` prints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

WRK_DIR = Path(__file__).with_name("wrk")


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def wrk(
    url: str,
    script: str,
    *,
    connections: int,
    duration: float,
    threads: int = 2,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Closed-loop load: `connections` connections each send the next request on the answer."""
    threads = min(threads, connections)
    argv = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
        "--timeout", "10s", "-s", str(WRK_DIR / script), url,
    ]  # fmt: skip
    done = subprocess.run(
        argv,
        env={**os.environ, "BENCH_WRK_DIR": str(WRK_DIR), **(env or {})},
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            raw = json.loads(line.removeprefix("BENCH_JSON "))
            return _summary(raw)
    raise RuntimeError(f"wrk gave no result: {done.stdout}\n{done.stderr}")


def _summary(raw: dict[str, Any]) -> dict[str, Any]:
    seconds = raw["duration_us"] / 1e6
    statuses = {int(k): v for k, v in raw["statuses"].items()}
    ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
    errors = sum(raw[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return {
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "rps": round(raw["requests"] / seconds, 1),
        "ok_rps": round(ok / seconds, 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "non_2xx": sum(n for s, n in statuses.items() if not 200 <= s < 300),
        "n_5xx": sum(n for s, n in statuses.items() if s >= 500),
        "n_503": statuses.get(503, 0),
        "socket_errors": errors,
        "statuses": statuses,
    }

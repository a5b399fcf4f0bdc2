"""`make bench`: every scenario, then bench/results/<date>.json and a markdown table beside it.

    .venv/bin/python -m bench.run              # full: under 15 min (queries at 10k, 100k, 1M)
    BENCH_QUICK=1 .venv/bin/python -m bench.run   # smoke run: ~5 min, shorter runs, no 1M
    BENCH_SIZES=10000,100000 …                 # other sizes (the 1M load alone is ~3 min)
    BENCH_ONLY=place_order,queries …           # some scenarios only

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust), Redis on 127.0.0.1:6379 (database 8 is
flushed) and wrk. Each scenario makes and drops its own databases (orderhub_bench_<pid>_…)."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import key_flood, lag, place_order, queries, relay
from bench.processes import flush_broker
from bench.report import markdown

RESULTS = Path(__file__).with_name("results")
SCENARIOS = ("place_order", "lag", "relay", "queries", "key_flood")


def _machine() -> dict[str, Any]:
    pg = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": pg.stdout.strip(),
        "loadavg_at_start": os.getloadavg(),
    }


async def main() -> int:
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    default_sizes = "10000,100000" if quick else "10000,100000,1000000"
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", default_sizes).split(",")]
    only = [s for s in os.environ.get("BENCH_ONLY", "").split(",") if s] or list(SCENARIOS)
    if shutil.which("wrk") is None:
        print("bench: wrk is missing (apt-get install -y wrk)", file=sys.stderr)
        return 2
    started = time.monotonic()
    flush_broker()
    out: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "runs_per_figure": 3,
        "machine": _machine(),
        "not_measured": [],
    }
    if 1_000_000 not in sizes:
        out["not_measured"].append(
            "queries at 1M orders (not in a quick run, or left out of BENCH_SIZES); growth is "
            f"then {sizes[0]:,}→{sizes[-1]:,}"
        )
    steps = {
        "place_order": lambda: place_order.run(quick),
        "lag": lambda: lag.run(quick),
        "relay": lambda: relay.run(quick),
        "queries": lambda: queries.run(quick, sizes),
        "key_flood": lambda: key_flood.run(quick),
    }
    for name in only:
        t = time.monotonic()
        print(f"== {name}", flush=True)
        try:
            out[name] = await steps[name]()
        except Exception as e:  # noqa: BLE001 - report the failure and go on with the others
            print(f"== {name} failed: {e!r}", flush=True)
            out[name] = {"error": repr(e)}
        out.setdefault("scenario_seconds", {})[name] = round(time.monotonic() - t, 1)
    out["total_seconds"] = round(time.monotonic() - started, 1)
    RESULTS.mkdir(exist_ok=True)
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    suffix = "-quick" if quick else ""
    if only != list(SCENARIOS):  # a partial run does not overwrite the day's full results
        suffix += "-" + "-".join(only)
    (RESULTS / f"{day}{suffix}.json").write_text(json.dumps(out, indent=1, default=str))
    (RESULTS / f"{day}{suffix}.md").write_text(markdown(out))
    print(markdown(out))
    print(f"written: bench/results/{day}{suffix}.json and .md ({out['total_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

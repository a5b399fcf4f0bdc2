"""A flood of made-up keys while orders are placed (PRODUCT.md §8.8): place-order at a steady
20/s for 10 s alone ("quiet"), then the same while another client sends 2,000 requests with a
random key each in the same 10 s ("flood"), side by side in each run. Both clients are
bench/loadgen.py in processes of their own, against `orderhub serve` on PostgreSQL; all from
127.0.0.1, so the flood and the orders share one client address."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

from bench.payloads import STOCK_SQL
from bench.processes import LOG_DIR, PYTHON, CpuMeter, Database, Processes
from bench.stats import summarize

RATE, FLOOD_RATE, SECONDS = 20.0, 200.0, 10.0
FIELDS = ("achieved_rps", "p50_ms", "p99_ms", "max_ms", "non_2xx", "errors", "unsent")


def _loadgen(url: str, key: str, rate: float, run: str, *flags: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PYTHON, "-m", "bench.loadgen", "--url", url, "--key", key, "--rate", str(rate),
         "--seconds", str(SECONDS), "--run", run, "--out", str(LOG_DIR / f"loadgen-{run}.json"),
         "--connections", "32", *flags],
    )  # fmt: skip


def _result(run: str) -> dict[str, Any]:
    return dict(json.loads((LOG_DIR / f"loadgen-{run}.json").read_text()))


async def run(quick: bool, runs: int = 3) -> dict[str, Any]:
    runs = 2 if quick else runs
    db = await Database.create("flood")
    # The default per-address failure budget, as a retailer runs it.
    procs = Processes(db.url)
    try:
        await db.execute(STOCK_SQL)
        key = procs.key("channel", "web")
        url = procs.serve("api")
        stamp = int(time.time())
        quiet: list[dict[str, Any]] = []
        flooded: list[dict[str, Any]] = []
        floods: list[dict[str, Any]] = []
        for i in range(runs):
            orders = _loadgen(url, key, RATE, f"quiet-{stamp}-{i}")
            orders.wait(timeout=SECONDS + 120)
            quiet.append(_result(f"quiet-{stamp}-{i}"))
            meter = CpuMeter(procs.running)
            flood = _loadgen(url, key, FLOOD_RATE, f"flood-{stamp}-{i}", "--random-keys")
            orders = _loadgen(url, key, RATE, f"orders-{stamp}-{i}")
            orders.wait(timeout=SECONDS + 120)
            flood.wait(timeout=SECONDS + 120)
            flooded.append(_result(f"orders-{stamp}-{i}") | {"cpu": meter.read()})
            floods.append(_result(f"flood-{stamp}-{i}"))
            print(f"  key flood run {i + 1}: place-order p99 quiet {quiet[-1]['p99_ms']} ms, "
                  f"flooded {flooded[-1]['p99_ms']} ms, non-2xx {flooded[-1]['non_2xx']}, "
                  f"errors {flooded[-1]['errors']}; flood answers {floods[-1]['statuses']}",
                  flush=True)  # fmt: skip
        return {
            "rate": RATE,
            "flood_rate": FLOOD_RATE,
            "seconds": SECONDS,
            "quiet": summarize(quiet, FIELDS),
            "flooded": summarize(flooded, FIELDS),
            "flood": summarize(floods, ("achieved_rps", "p50_ms", "p99_ms")),
            "runs": {"quiet": quiet, "flooded": flooded, "flood": floods},
        }
    finally:
        procs.close()
        await db.drop()

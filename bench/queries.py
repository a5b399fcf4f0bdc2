"""The order read, the timeline and the customer search through HTTP at several data sizes.

For each size, a new database is filled by bench/bulk_load.py (in SQL, not through the API: read
models plus the write side's `orders` rows), `orderhub serve` is started on it, and wrk (closed
loop, 4 connections, an agent key) sends, round robin over 1,000 sampled orders:

- `order`:    GET /v1/orders/{id}                (write side, primary key)
- `timeline`: GET /v1/orders/{id}/timeline       (read model, ~8 entries)
- `search`:   GET /v1/orders?customer_email=…    (read model, the customer's newest orders)

Growth = p99 (and p50) at the largest size / at the smallest.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.bulk_load import load
from bench.processes import LOG_DIR, Database, Processes
from bench.stats import summarize
from bench.wrk_run import wrk

ENDPOINTS = ("order", "timeline", "search")
FIELDS = ("rps", "p50_ms", "p95_ms", "p99_ms", "non_2xx")


async def _paths(db: Database, size: int) -> dict[str, Path]:
    rows = await db.fetch(
        "SELECT order_id, customer_email FROM order_views ORDER BY md5(order_id::text) LIMIT 1000"
    )
    files = {}
    for endpoint in ENDPOINTS:
        lines = []
        for r in rows:
            if endpoint == "order":
                lines.append(f"/v1/orders/{r['order_id']}")
            elif endpoint == "timeline":
                lines.append(f"/v1/orders/{r['order_id']}/timeline")
            else:
                lines.append(f"/v1/orders?customer_email={quote(r['customer_email'])}")
        path = LOG_DIR / f"paths-{size}-{endpoint}.txt"
        path.write_text("\n".join(lines) + "\n")
        files[endpoint] = path
    return files


async def _size(size: int, quick: bool, runs: int) -> dict[str, Any]:
    seconds = 3 if quick else 4
    db = await Database.create(f"q{size}")
    procs = Processes(db.url)
    try:
        started = time.perf_counter()
        report = await load(db.name, size, write_side=True)
        loaded = round(time.perf_counter() - started, 1)
        print(f"  {size:,} orders loaded in {loaded} s", flush=True)
        key = procs.key("agent")
        url = procs.serve("api")
        files = await _paths(db, size)
        rss_start = procs.rss()
        out: dict[str, Any] = {"load_seconds": loaded, "sizes": report.sizes}
        for endpoint in ENDPOINTS:  # warm-up
            wrk(url, "get_paths.lua", connections=4, duration=1,
                env={"BENCH_KEY": key, "BENCH_PATHS": str(files[endpoint])})  # fmt: skip
        results: dict[str, list[dict[str, Any]]] = {e: [] for e in ENDPOINTS}
        for _ in range(runs):
            for endpoint in ENDPOINTS:
                r = wrk(url, "get_paths.lua", connections=4, duration=seconds,
                        env={"BENCH_KEY": key, "BENCH_PATHS": str(files[endpoint])})  # fmt: skip
                results[endpoint].append(r)
        for endpoint in ENDPOINTS:
            out[endpoint] = {
                "summary": summarize(results[endpoint], FIELDS),
                "runs": results[endpoint],
            }
            s = out[endpoint]["summary"]
            print(f"  {size:,} {endpoint}: {s['rps']['median']} req/s p50 "
                  f"{s['p50_ms']['median']} p99 {s['p99_ms']['median']} ms "
                  f"non-2xx {s['non_2xx']['median']}", flush=True)  # fmt: skip
        out["rss_mb"] = {"start": rss_start, "end": procs.rss()}
        return out
    finally:
        procs.close()
        await db.drop()


async def run(quick: bool, sizes: list[int], runs: int = 3) -> dict[str, Any]:
    by_size = {}
    for size in sizes:
        by_size[str(size)] = await _size(size, quick, runs)
    first, last = by_size[str(sizes[0])], by_size[str(sizes[-1])]
    growth = {
        e: {
            f"p{p}": round(
                last[e]["summary"][f"p{p}_ms"]["median"]
                / max(first[e]["summary"][f"p{p}_ms"]["median"], 1e-3),
                2,
            )
            for p in (50, 99)
        }
        for e in ENDPOINTS
    }
    return {"sizes": sizes, "by_size": by_size, "growth": growth}


if __name__ == "__main__":
    import asyncio
    import json

    print(json.dumps(asyncio.run(run(True, [10_000], runs=1)), indent=1)[:2000])

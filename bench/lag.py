"""Commit-to-timeline lag at a sustained place-order rate through the whole pipeline:
`orderhub serve` + `orderhub relay` + `orderhub worker` on PostgreSQL and Redis, the worker booking
every order in an ERP through the real HTTP adapter (`ERP_URL`, `ERP_API_KEY`) against a fake ERP
in a process of its own (bench/fake_erp.py), orders of 3 lines (3 distinct SKUs of 1,000) placed
by bench/loadgen.py at a fixed rate (open loop, its own process).

CPU per order placed is read per process (`/proc`) for the load phase: the API, the relay, the
worker, PostgreSQL, Redis, and the fake ERP apart; `orderhub+postgres` is what §7's budget of
8 ms per order counts (the API, the relay, the worker and PostgreSQL; not the fake back office).

Lag of an order = the projection's delivery of its OrderPlaced event marked processed
(`deliveries.processed_at`, consumer `projection`, written right after the transaction that
inserts the timeline entry commits) minus the event's `outbox.occurred_at` (stamped inside the
place-order transaction, just before its commit). `timeline_entries` has no insert timestamp of
its own, so this pair of database timestamps is the closest measure: it slightly overstates the lag
(by the commit of the command and the projection's own commit). Orders whose entry is not visible
when the drain wait ends are counted as `not_visible`, not left out.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from bench import fake_erp
from bench.payloads import STOCK_SQL
from bench.place_order import fixed_rate
from bench.processes import CpuMeter, Database, Processes, flush_broker
from bench.stats import mmm, summarize

LAG_SQL = """
SELECT extract(epoch FROM d.processed_at - o.occurred_at) * 1000 AS ms
FROM outbox AS o
LEFT JOIN deliveries AS d ON d.event_id = o.event_id AND d.consumer = 'projection'
WHERE o.event_type = 'OrderPlaced' AND o.occurred_at >= $1 AND o.occurred_at < $2
"""


def _pct(ms: list[float], p: float) -> float | None:
    """Percentile over all orders; None when it falls on an order not visible yet (censored)."""
    if not ms:
        return None
    value = ms[min(len(ms) - 1, int(p * len(ms)))]
    return None if value == float("inf") else round(value, 1)


async def _lag(db: Database, since: datetime, until: datetime) -> dict[str, Any]:
    rows = await db.fetch(LAG_SQL, since, until)
    ms = sorted(float("inf") if r["ms"] is None else float(r["ms"]) for r in rows)
    return {
        "orders": len(rows),
        "not_visible": sum(1 for r in rows if r["ms"] is None),
        "p50_ms": _pct(ms, 0.50),
        "p95_ms": _pct(ms, 0.95),
        "p99_ms": _pct(ms, 0.99),
        "max_ms": _pct(ms, 1.0),
    }


async def backlog(db: Database, since: datetime) -> int:
    return int(
        await db.fetchval(
            "SELECT count(*) FROM outbox AS o LEFT JOIN deliveries AS d ON d.event_id = o.event_id"
            " AND d.consumer = 'projection' WHERE o.event_type = 'OrderPlaced'"
            " AND o.occurred_at >= $1 AND d.processed_at IS NULL",
            since,
        )
    )


#: Work the pipeline has left: events not relayed yet, deliveries neither processed nor parked.
UNFINISHED_SQL = """
SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL)
     + (SELECT count(*) FROM deliveries WHERE processed_at IS NULL AND dead_at IS NULL)
"""


async def settle(db: Database, limit: float) -> None:
    """After a run the pipeline kept up with, wait (up to `limit`) for the rest of its work (the
    ERP bookings and the pushes they cause) so that the next run does not start with it."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and int(await db.fetchval(UNFINISHED_SQL)) > 0:
        time.sleep(0.25)


async def warm_up(db: Database, url: str, key: str) -> None:
    """A few orders through the whole pipeline, so that the measured runs start with every process
    up (a process's imports take seconds on a busy machine) and without their start-up CPU."""
    since = datetime.now(UTC)
    fixed_rate(url, key, 10, 2, f"lag-warm-{int(time.time())}")
    deadline = time.monotonic() + 60
    while await backlog(db, since) > 0:
        if time.monotonic() > deadline:
            raise TimeoutError("the pipeline did not project the warm-up orders within 60 s")
        time.sleep(0.2)


#: The target's rate, and below it: with the API, the relay, the worker, PostgreSQL, Redis and the
#: fake ERP all on this 2-core machine, the pipeline has kept up with about 50/s (at a rate it
#: does not keep up with, the lag only says how far behind it fell). The CPU each process used
#: per order says where the cores went.
RATES = (50.0, 100.0, 200.0)
#: The processes §7's CPU budget per order counts: orderhub's and PostgreSQL.
BUDGETED = ("api", "relay", "worker", "postgres")
TOTAL = "orderhub+postgres"


async def run(quick: bool, runs: int = 3, rates: tuple[float, ...] = RATES) -> dict[str, Any]:
    seconds = 6 if quick else 10
    drain = 10
    db = await Database.create("lag")
    flush_broker()
    procs = Processes(db.url)
    try:
        await db.execute(STOCK_SQL)
        erp = fake_erp.start(procs)
        key = procs.key("channel", "web")
        url = procs.serve("api")
        procs.orderhub("relay", "relay")
        procs.orderhub("worker", "worker", "--threads", "8")
        await warm_up(db, url, key)
        by_rate: dict[str, Any] = {}
        stamp = int(time.time())
        for rate in rates:
            by_rate[f"{rate:.0f}"] = await _at(db, procs, url, erp, key, rate, seconds, drain,
                                               runs, f"{stamp}-{rate:.0f}")  # fmt: skip
        return {"by_rate": by_rate, "lines_per_order": 3, "erp": "HTTP, bench/fake_erp.py"}
    finally:
        procs.close()
        flush_broker()
        await db.drop()


def per_order(seconds: dict[str, float], orders: int) -> dict[str, float]:
    """CPU ms per order of each process, and the total §7's budget counts."""
    ms = {n: 1000 * v / max(1, orders) for n, v in seconds.items()}
    ms[TOTAL] = sum(ms.get(n, 0.0) for n in BUDGETED)
    return {n: round(v, 2) for n, v in ms.items()}


async def _at(
    db: Database, procs: Processes, url: str, erp: str, key: str, rate: float, seconds: float,
    drain: float, runs: int, stamp: str,
) -> dict[str, Any]:  # fmt: skip
    out = []
    for i in range(runs):
        rss_start = procs.rss()
        erp_before = fake_erp.counts(erp)
        since = datetime.now(UTC)
        meter = CpuMeter(procs.running)
        load = fixed_rate(url, key, rate, seconds, f"lag-{stamp}-{i}")
        cpu = meter.read()
        until = datetime.now(UTC)
        behind = await backlog(db, since)
        deadline = time.monotonic() + drain
        while time.monotonic() < deadline and await backlog(db, since) > 0:
            time.sleep(0.5)
        r = await _lag(db, since, until)
        if r["not_visible"] == 0:
            await settle(db, drain)
        erp_after = fake_erp.counts(erp)
        r.update(
            achieved_rps=load["achieved_rps"],
            place_p99_ms=load["p99_ms"],
            place_non_2xx=load["non_2xx"],
            place_statuses=load["statuses"],
            backlog_at_load_end=behind,
            unfinished_at_end=int(await db.fetchval(UNFINISHED_SQL)),
            erp_booked=erp_after["booked"] - erp_before["booked"],
            erp_requests=erp_after["requests"] - erp_before["requests"],
            rss_mb={"start": rss_start, "end": procs.rss()},
            drain_wait_s=drain,
            cpu=cpu,
            cpu_ms_per_order=per_order(cpu["seconds"], r["orders"]),
            machine_busy_pct=cpu["machine_busy_pct"],
        )
        out.append(r)
        print(f"  lag run {i + 1} at {rate:.0f}/s (achieved {load['achieved_rps']}/s, "
              f"{r['orders']} orders): p50 {r['p50_ms']} "
              f"p99 {r['p99_ms']} ms (None: beyond the drain wait), "
              f"not projected at load end {behind}, not visible after {drain} s: "
              f"{r['not_visible']}, work left at the end {r['unfinished_at_end']}; "
              f"ERP booked {r['erp_booked']} ({r['erp_requests']} requests); "
              f"CPU ms/order {r['cpu_ms_per_order']}, machine busy {cpu['machine_busy_pct']} %",
              flush=True)  # fmt: skip
    return {
        "target_rps": rate,
        "seconds": seconds,
        "summary": summarize(
            out,
            (
                "achieved_rps",
                "p50_ms",
                "p95_ms",
                "p99_ms",
                "max_ms",
                "not_visible",
                "backlog_at_load_end",
                "unfinished_at_end",
                "erp_booked",
                "erp_requests",
                "machine_busy_pct",
            ),
        ),
        "cpu_ms_per_order": {
            n: mmm(x["cpu_ms_per_order"][n] for x in out) for n in out[0]["cpu_ms_per_order"]
        },
        "runs": out,
    }


if __name__ == "__main__":
    import asyncio
    import json
    import sys

    print(json.dumps(asyncio.run(run(quick="--quick" in sys.argv, runs=1)), indent=1))

"""GET /v1/events at 1M events: the feed's latency for readers at random points of it.

    .venv/bin/python -m bench.feed                # 1,000,000 events, 3 runs of 4 s per case
    BENCH_FEED_EVENTS=100000 .venv/bin/python -m bench.feed

A new database gets N outbox rows in SQL (5 events per order, 4 channels, in 100 transactions,
so the rows carry 100 different txids as units of work would leave them), then `orderhub serve`
answers wrk (closed loop, 4 connections) round robin over 1,000 cursors at random positions:

- `ops`:        an ops key, a page of 100 of every event after the cursor
- `channel`:    a channel key (web: a quarter of the events), a page of 100 of its events
- `typed`:      a channel key, only `ShipmentDispatched` (a fifth of its events), a page of 100
- `caught_up`:  a channel key at the head of the feed: an empty page (what a polling client
                that is up to date asks, most of the time)

Prints each case's p50/p99 (median, min, max of the runs) and writes
bench/results/<date>-feed.json.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.processes import LOG_DIR, Database, Processes
from bench.stats import summarize
from bench.wrk_run import wrk
from ports.event_feed import FeedPosition
from read_models.event_feed import Cursor

CASES = ("ops", "channel", "typed", "caught_up")
FIELDS = ("rps", "p50_ms", "p95_ms", "p99_ms", "non_2xx")
RESULTS = Path(__file__).with_name("results")
TRANSACTIONS = 100

_FILL = """
INSERT INTO outbox (event_id, event_type, schema_version, aggregate_type, aggregate_id,
                    aggregate_version, occurred_at, correlation_id, causation_id, actor, payload,
                    published_at, channel)
SELECT gen_random_uuid(),
       (ARRAY['OrderPlaced','InventoryReserved','OrderBooked','ShipmentDispatched',
              'ShipmentDelivered'])[1 + g % 5],
       1, 'order', md5((g / 5)::text)::uuid::text, 1 + g % 5,
       now() - interval '1 hour' + g * interval '1 ms', 'bench', NULL, 'channel:bench',
       jsonb_build_object('order_id', md5((g / 5)::text)::uuid::text, 'n', g),
       now(), (ARRAY['web','pos','marketplace','b2b'])[1 + (g / 5) % 4]
FROM generate_series($1::bigint, $2::bigint - 1) AS g
"""


async def _fill(db: Database, events: int) -> None:
    step = max(events // TRANSACTIONS, 1)
    for start in range(0, events, step):
        conn_sql = _FILL.replace("$1::bigint", str(start)).replace(
            "$2::bigint", str(min(start + step, events))
        )
        await db.execute(conn_sql)  # one transaction each: its own txid
    # Vacuumed and analysed before measuring: otherwise autovacuum takes up the freshly loaded
    # table during the runs and its CPU shows as the feed's tail on a 2-core machine.
    await db.execute("VACUUM ANALYZE outbox")


async def _paths(db: Database, case: str) -> Path:
    now = datetime.now(UTC)
    if case == "caught_up":
        head = await db.fetch("SELECT txid, id FROM outbox ORDER BY txid DESC, id DESC LIMIT 1")
        positions = [FeedPosition(head[0]["txid"], head[0]["id"])]
    else:
        rows = await db.fetch("SELECT txid, id FROM outbox ORDER BY md5(id::text) LIMIT 1000")
        positions = [FeedPosition(r["txid"], r["id"]) for r in rows]
    query = "&types=ShipmentDispatched" if case == "typed" else ""
    lines = [f"/v1/events?after={Cursor(p, now).encode()}&limit=100{query}" for p in positions]
    path = LOG_DIR / f"feed-{case}.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


async def run(events: int, runs: int = 3, seconds: float = 4) -> dict[str, Any]:
    db = await Database.create("feed")
    # Redis database 15: the API pings its broker for readiness; the bench never sends to it.
    procs = Processes(db.url, BROKER_URL="redis://127.0.0.1:6379/15")
    try:
        await _fill(db, events)
        print(f"  {events:,} events loaded", flush=True)
        keys = {"ops": procs.key("ops"), "channel": procs.key("channel", "web")}
        url = procs.serve("api")
        files = {case: await _paths(db, case) for case in CASES}
        out: dict[str, Any] = {"events": events}
        for case in CASES:
            key = keys["ops" if case == "ops" else "channel"]
            env = {"BENCH_KEY": key, "BENCH_PATHS": str(files[case])}
            wrk(url, "get_paths.lua", connections=4, duration=1, env=env)  # warm-up
            results = [
                wrk(url, "get_paths.lua", connections=4, duration=seconds, env=env)
                for _ in range(runs)
            ]
            out[case] = {"summary": summarize(results, FIELDS), "runs": results}
            s = out[case]["summary"]
            print(
                f"  {case}: {s['rps']['median']} req/s, p50 {s['p50_ms']['median']} ms, "
                f"p99 {s['p99_ms']['median']} ms (min {s['p99_ms']['min']}, max "
                f"{s['p99_ms']['max']}), non-2xx {s['non_2xx']['median']}",
                flush=True,
            )
        out["rss_mb"] = procs.rss()
        return out
    finally:
        procs.close()
        await db.drop()


def main() -> None:
    events = int(os.environ.get("BENCH_FEED_EVENTS", "1000000"))
    out = asyncio.run(run(events))
    out["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    out["loadavg"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / f"{datetime.now(UTC):%Y-%m-%d}-feed.json"
    target.write_text(json.dumps(out, indent=1, default=str))
    print(f"written: {target}")


if __name__ == "__main__":
    main()

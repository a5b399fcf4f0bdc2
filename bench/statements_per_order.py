"""Statements each orderhub process sends PostgreSQL per order placed, through the whole pipeline.

`orderhub serve` + `relay` + `worker` on a throwaway database with `log_statement = 'all'`, the
worker booking orders through the HTTP ERP adapter against the fake ERP in a process of its own
(bench/fake_erp.py), 50 orders of 3 lines (3 distinct SKUs of 1,000) at 10/s, then the server log
is read back: each backend is matched to the process whose client port it serves (`ss`), and its
statements are counted per order placed, BEGIN, COMMIT and ROLLBACK included. Needs to read PostgreSQL's log (PG_LOG, default the Debian cluster's).

    .venv/bin/python -m bench.statements_per_order
"""

from __future__ import annotations

import asyncio
import collections
import glob
import os
import re
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import fake_erp
from bench.lag import backlog, settle, warm_up
from bench.payloads import STOCK_SQL
from bench.place_order import fixed_rate
from bench.processes import Database, Processes, flush_broker

PG_LOG = Path(
    os.environ.get("PG_LOG")
    or next(iter(glob.glob("/var/log/postgresql/postgresql-*-main.log")), "/dev/null")
)


def client_ports(pid: int) -> set[int]:
    """Local ports of `pid`'s TCP connections to PostgreSQL."""
    out = subprocess.run(["ss", "-tnpH"], capture_output=True, text=True, check=True).stdout
    ports = set()
    for line in out.splitlines():
        cols = line.split()
        if f"pid={pid}," in line and cols[4].endswith(":5432"):
            ports.add(int(cols[3].rsplit(":", 1)[1]))
    return ports


async def main() -> None:
    db = await Database.create("statements")
    flush_broker()
    procs = Processes(db.url)
    try:
        await db.execute(STOCK_SQL, f"ALTER DATABASE {db.name} SET log_statement = 'all'")
        erp = fake_erp.start(procs)
        key = procs.key("channel", "web")
        url = procs.serve("api")
        procs.orderhub("relay", "relay")
        procs.orderhub("worker", "worker", "--threads", "8")
        await warm_up(db, url, key)  # its statements (and the pools' set-up) are not counted
        await settle(db, 30)  # nor its bookings and pushes
        start = PG_LOG.stat().st_size
        erp_before = fake_erp.counts(erp)
        since_orders = int(await db.fetchval("SELECT count(*) FROM orders"))
        since = datetime.now(UTC)
        fixed_rate(url, key, 10, 5, f"statements-{int(time.time())}")
        while await backlog(db, since) > 0:
            time.sleep(0.2)
        await settle(db, 30)  # the last bookings and pushes
        orders = int(await db.fetchval("SELECT count(*) FROM orders")) - since_orders
        by_port = {name: client_ports(p.pid) for name, p in procs.running.items()}
        rows = await db.fetch(
            "SELECT pid, client_port FROM pg_stat_activity WHERE datname = $1", db.name
        )
        owner = {
            str(r["pid"]): name
            for r in rows
            for name, ports in by_port.items()
            if r["client_port"] in ports
        }
        text = PG_LOG.read_bytes()[start:].decode(errors="replace")
        pattern = re.compile(
            r"\[(\d+)\] \S+@" + re.escape(db.name) + r" LOG:  (?:statement|execute [^:]*): (.*)"
        )
        per: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        for m in pattern.finditer(text):
            per[owner.get(m.group(1), "other")][m.group(2)[:100]] += 1
        erp_after = fake_erp.counts(erp)
        print(f"{orders} orders placed (3 lines each); the fake ERP booked "
              f"{erp_after['booked'] - erp_before['booked']} in "
              f"{erp_after['requests'] - erp_before['requests']} requests")  # fmt: skip
        total = sum(sum(counts.values()) for counts in per.values())
        print(f"== all processes: {total / orders:.1f} statements per order")
        for name, counts in sorted(per.items()):
            print(f"== {name}: {sum(counts.values()) / orders:.1f} statements per order")
            for sql, n in counts.most_common(25):
                print(f"  {n / orders:6.2f}  {sql}")
    finally:
        procs.close()
        flush_broker()
        await db.drop()


if __name__ == "__main__":
    asyncio.run(main())

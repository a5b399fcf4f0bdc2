"""An open-loop, fixed-rate HTTP load generator, run as its own process (not on the event loop of
what it measures). wrk2 is not packaged here; this stands in for `wrk2 -R`.

Request i is due at start + i / rate, whatever happened to the earlier ones; a pool of keep-alive
connections takes due requests in order. Latency is counted from the time the request was due, not
from when a connection was free to send it, so a stall shows in the percentiles (no coordinated
omission). Requests still not sent `--grace` seconds after the last one was due are counted
as `unsent` (the server is overloaded) and the run ends. A plain HTTP/1.1 client on asyncio streams keeps the generator's own cost small.

    python -m bench.loadgen --url http://127.0.0.1:8000 --rate 200 --seconds 10 --key KEY \
        --run r1 [--case spread|hot] [--connections 64] [--out result.json] \
        [--created created.jsonl] [--random-keys]

Orders are of 3 lines (bench/payloads.py): `spread` (default) draws 3 distinct SKUs of 1,000 per
order, `hot` puts every order on the same 3.

Prints (or writes) a JSON summary: sent, statuses, achieved rate, p50/p95/p99/max in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import time
from typing import Any

from bench.payloads import CASES, order_body, order_skus


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        return status, body


def place_order_request(host: str, key: str, ref: str, n: int, case: str = "spread") -> bytes:
    body = json.dumps(order_body(ref, n, order_skus(case, n)), separators=(",", ":")).encode()
    head = (
        f"POST /v1/orders HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nIdempotency-Key: {ref}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def run(args: argparse.Namespace) -> dict[str, Any]:
    host, _, port = args.url.removeprefix("http://").partition(":")
    total = int(args.rate * args.seconds)
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    created: list[tuple[str, float]] = []
    start = time.perf_counter() + 0.2
    wall_start = time.time() + 0.2

    unsent = [0]
    cutoff = start + args.seconds + args.grace

    async def worker() -> None:
        conn = Connection(host, int(port))
        while (i := await queue.get()) is not None:
            due = start + i / args.rate
            if time.perf_counter() > cutoff:
                unsent[0] += 1  # overloaded: more than `grace` s behind the schedule at the end
                continue
            key = f"ohk_{secrets.token_urlsafe(32)}" if args.random_keys else args.key
            raw = place_order_request(host, key, f"{args.run}-{i}", i, args.case)
            try:
                status, body = await conn.request(raw)
            except (OSError, asyncio.IncompleteReadError, ValueError) as e:
                errors.append(repr(e))
                conn = Connection(host, int(port))
                continue
            done = time.perf_counter()
            latencies.append(done - due)
            statuses[status] = statuses.get(status, 0) + 1
            if args.created and status == 201:
                created.append((json.loads(body)["id"], wall_start + (done - start)))

    workers = [asyncio.create_task(worker()) for _ in range(args.connections)]
    for i in range(total):
        delay = start + i / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(i)
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    if args.created:
        with open(args.created, "w") as f:
            for order_id, at in created:
                f.write(json.dumps({"id": order_id, "created": at}) + "\n")
    ms = sorted(x * 1000 for x in latencies)

    def pct(p: float) -> float:
        return round(ms[min(len(ms) - 1, int(p * len(ms)))], 2) if ms else 0.0

    ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
    return {
        "target_rps": args.rate,
        "sent": total,
        "seconds": round(elapsed, 2),
        "achieved_rps": round(len(latencies) / elapsed, 1),
        "ok": ok,
        "non_2xx": sum(statuses.values()) - ok,
        "errors": len(errors),
        "unsent": unsent[0],
        "statuses": statuses,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(ms[-1], 2) if ms else 0.0,
        "mean_ms": round(statistics.fmean(ms), 2) if ms else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--run", required=True, help="prefix of refs and idempotency keys")
    parser.add_argument("--case", choices=CASES, default="spread", help="SKUs of the 3 lines")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--grace", type=float, default=5.0, help="stop sending this long after the last due time"
    )
    parser.add_argument("--out", help="write the JSON summary here (default: stdout)")
    parser.add_argument("--created", help="write (order id, 201 time) lines here")
    parser.add_argument(
        "--random-keys", action="store_true", help="a made-up key per request (a key flood)"
    )
    result = asyncio.run(run(parser.parse_args()))
    text = json.dumps(result)
    args = parser.parse_args()
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()

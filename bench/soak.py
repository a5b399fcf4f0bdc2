"""A soak: mixed traffic at a steady rate through `orderhub serve`, `relay` and `worker` on
PostgreSQL and Redis, with the memory of each process sampled from start to end.

    .venv/bin/python -m bench.soak [--seconds 600] [--rate 25]

Traffic, chosen at random each tick (seeded): place an order; amend or cancel one of the channel's
recent orders; ship and deliver a booked order (warehouse inbound events); request a return on a
delivered one; a stock snapshot; and reads (order, timeline, search by email). Every answer is
counted by kind and status; a 5xx is a failure. At the end the outbox and deliveries drain, and
the summary gives each process's RSS at start, at end and at its peak, with the growth.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.payloads import order_body, sku
from bench.processes import Database, Processes, flush_broker

SKUS = 200
RESULTS = Path(__file__).with_name("results")


@dataclass
class Tally:
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def note(self, kind: str, response: httpx.Response | None, error: str | None = None) -> None:
        if response is None:
            self.errors[f"{kind}: {error}"] += 1
        else:
            self.statuses[(kind, response.status_code)] += 1

    def server_errors(self) -> int:
        return sum(n for (_, status), n in self.statuses.items() if status >= 500) + sum(
            self.errors.values()
        )


@dataclass
class Traffic:
    client: httpx.AsyncClient
    web: str
    agent: str
    system: str
    rng: random.Random
    tally: Tally = field(default_factory=Tally)
    reserved: list[str] = field(default_factory=list)  #: orders placed, maybe booked by now
    skus: dict[str, str] = field(default_factory=dict)  #: order id -> its one line's SKU
    shipped: list[str] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    placed: int = 0
    sequence: int = 1_000

    async def tick(self) -> None:
        roll = self.rng.random()
        if roll < 0.35 or not self.reserved:
            await self.place()
        elif roll < 0.42:
            await self.amend()
        elif roll < 0.46:
            await self.cancel()
        elif roll < 0.58:
            await self.ship()
        elif roll < 0.63:
            await self.request_return()
        elif roll < 0.66:
            await self.snapshot()
        else:
            await self.read()

    async def call(self, kind: str, method: str, url: str, key: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
        try:
            response = await self.client.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as e:
            self.tally.note(kind, None, type(e).__name__)
            return None
        self.tally.note(kind, response)
        return response

    async def place(self) -> None:
        self.placed += 1
        n = self.rng.randrange(SKUS)
        body = order_body(f"SOAK-{self.placed}", n)
        email = f"soak{self.placed % 500}@example.com"
        body["customer"]["email"] = email
        r = await self.call("place", "POST", "/v1/orders", self.web, json=body,
                            headers={"Idempotency-Key": str(uuid.uuid4())})  # fmt: skip
        if r is not None and r.status_code == 201:
            self.reserved.append(r.json()["id"])
            self.skus[r.json()["id"]] = sku(n)
            self.emails.append(email)
            del self.reserved[:-300]
            del self.emails[:-300]

    async def amend(self) -> None:
        order_id = self.rng.choice(self.reserved)
        line = {"sku": self.skus[order_id], "quantity": self.rng.randint(1, 3)}
        await self.call("amend", "POST", f"/v1/orders/{order_id}/amend", self.web,
                        json={"lines": [line]}, headers={"Idempotency-Key": str(uuid.uuid4())})  # fmt: skip

    async def cancel(self) -> None:
        order_id = self.reserved.pop(self.rng.randrange(len(self.reserved)))
        await self.call("cancel", "POST", f"/v1/orders/{order_id}/cancel", self.web,
                        json={"reason": "soak"}, headers={"Idempotency-Key": str(uuid.uuid4())})  # fmt: skip

    async def ship(self) -> None:
        order_id = self.reserved.pop(0)  # the oldest: the worker booked it long ago
        r = await self.call("read", "GET", f"/v1/orders/{order_id}", self.agent)
        if r is None or r.status_code != 200 or r.json()["status"] != "booked":
            return
        lines = [{"sku": ln["sku"], "quantity": ln["quantity"]} for ln in r.json()["lines"]]
        dispatched = _event("shipment.dispatched", {
            "order_id": order_id, "shipment_id": f"S-{order_id[:8]}", "location": "dc-east",
            "carrier": "DHL", "tracking_number": f"T-{order_id[:8]}", "lines": lines,
        })  # fmt: skip
        await self.call("inbound", "POST", "/v1/inbound/warehouse", self.system, json=dispatched)
        delivered = _event(
            "shipment.delivered", {"order_id": order_id, "shipment_id": f"S-{order_id[:8]}"}
        )
        r = await self.call("inbound", "POST", "/v1/inbound/warehouse", self.system, json=delivered)
        if r is not None and r.status_code == 200:
            self.delivered.append(order_id)

    async def request_return(self) -> None:
        if not self.delivered:
            return
        order_id = self.delivered.pop(0)
        r = await self.call("read", "GET", f"/v1/orders/{order_id}", self.agent)
        if r is None or r.status_code != 200:
            return
        line = r.json()["lines"][0]
        body = {"lines": [{"sku": line["sku"], "quantity": 1, "reason": "soak"}]}
        await self.call("return", "POST", f"/v1/orders/{order_id}/returns", self.web, json=body,
                        headers={"Idempotency-Key": str(uuid.uuid4())})  # fmt: skip

    async def snapshot(self) -> None:
        self.sequence += 1
        data = {"sku": sku(self.rng.randrange(SKUS)), "location": "dc-east",
                "on_hand": 1_000_000, "sequence": self.sequence}  # fmt: skip
        await self.call("inbound", "POST", "/v1/inbound/warehouse", self.system,
                        json=_event("stock.snapshot", data))  # fmt: skip

    async def read(self) -> None:
        order_id = self.rng.choice(self.reserved)
        match self.rng.randrange(3):
            case 0:
                await self.call("read", "GET", f"/v1/orders/{order_id}", self.agent)
            case 1:
                await self.call("read", "GET", f"/v1/orders/{order_id}/timeline", self.agent)
            case _:
                email = self.rng.choice(self.emails)
                await self.call("read", "GET", "/v1/orders", self.agent,
                                params={"customer_email": email, "limit": 20})  # fmt: skip


def _event(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": f"soak-{uuid.uuid4()}", "type": event_type,
            "occurred_at": datetime.now(UTC).isoformat(), "data": data}  # fmt: skip


async def soak(seconds: float, rate: float, seed: int) -> dict[str, Any]:
    database = await Database.create("soak")
    flush_broker()
    processes = Processes(database.url, DELIVERY_TIMEOUT_SECONDS="30")
    try:
        await database.execute(
            "INSERT INTO stock_levels (sku, location, on_hand) "
            f"SELECT 'SKU-' || lpad(i::text, 5, '0'), 'dc-east', 1000000 FROM generate_series(0, {SKUS}) AS i"
        )
        keys = {
            "web": processes.key("channel", "web"),
            "agent": processes.key("agent"),
            "system": processes.key("system"),
        }
        url = processes.serve()
        processes.orderhub("relay", "relay")
        processes.orderhub("worker", "worker", "--threads", "8")
        await asyncio.sleep(3)
        samples = [(0.0, processes.rss())]
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            traffic = Traffic(
                client, keys["web"], keys["agent"], keys["system"], random.Random(seed)
            )
            start = time.monotonic()
            ticks = 0
            next_sample = 30.0
            while (elapsed := time.monotonic() - start) < seconds:
                due = start + ticks / rate
                if (pause := due - time.monotonic()) > 0:
                    await asyncio.sleep(pause)
                await traffic.tick()
                ticks += 1
                if elapsed >= next_sample:
                    samples.append((round(elapsed), processes.rss()))
                    next_sample += 30
            achieved = ticks / (time.monotonic() - start)
        samples.append((round(time.monotonic() - start), processes.rss()))
        drained = await _drain(database)
        return _summary(seconds, rate, achieved, traffic.tally, samples, drained, database.name)
    finally:
        processes.close()
        await database.drop()


async def _drain(database: Database, timeout: float = 120) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        counts = {
            "unpublished": await database.fetchval(
                "SELECT count(*) FROM outbox WHERE published_at IS NULL"
            ),
            "pending_deliveries": await database.fetchval(
                "SELECT count(*) FROM deliveries WHERE processed_at IS NULL AND dead_at IS NULL"
            ),
        }
        if not any(counts.values()) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    counts["events"] = await database.fetchval("SELECT count(*) FROM outbox")
    counts["orders"] = await database.fetchval("SELECT count(*) FROM orders")
    counts["dead_letters"] = await database.fetchval("SELECT count(*) FROM dead_letters")
    counts["views_behind"] = await database.fetchval(
        "SELECT count(*) FROM orders o LEFT JOIN order_views v ON v.order_id = o.id "
        "WHERE v.version IS DISTINCT FROM o.version"
    )
    return counts


def _summary(
    seconds: float,
    rate: float,
    achieved: float,
    tally: Tally,
    samples: list[tuple[float, dict[str, float]]],
    drained: dict[str, int],
    database: str,
) -> dict[str, Any]:
    names = sorted(samples[0][1])
    # Growth counts from the first sample under load (imports and pools filled), not from idle.
    warm = samples[1][1] if len(samples) > 2 else samples[0][1]
    memory = {
        name: {
            "idle_mb": samples[0][1].get(name),
            "warm_mb": warm.get(name),
            "end_mb": samples[-1][1].get(name),
            "peak_mb": max(s.get(name, 0.0) for _, s in samples),
            "growth_after_warm_mb": round(samples[-1][1].get(name, 0.0) - warm.get(name, 0.0), 1),
        }
        for name in names
    }
    return {
        "seconds": seconds,
        "rate_per_s": rate,
        "achieved_per_s": round(achieved, 1),
        "answers": {f"{kind} {status}": n for (kind, status), n in sorted(tally.statuses.items())},
        "transport_errors": dict(tally.errors),
        "server_errors": tally.server_errors(),
        "memory": memory,
        "rss_samples": samples,
        "after_drain": drained,
        "database": database,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--rate", type=float, default=25)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    result = asyncio.run(soak(args.seconds, args.rate, args.seed))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"soak-{datetime.now(UTC):%Y-%m-%d}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps({k: v for k, v in result.items() if k != "rss_samples"}, indent=2))
    print(f"written: {out}")


if __name__ == "__main__":
    main()

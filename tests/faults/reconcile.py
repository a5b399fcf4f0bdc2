"""What the channels were told against what the database holds, after a fault.

`reconcile` reads one consistent snapshot (REPEATABLE READ) of the write tables, the delivery
bookkeeping and the read models, and counts:

- lost: an order answered 201 that is not stored; an event a consumer never processed once the
  run has settled; a dead letter the scenario did not expect; an inbound event never applied;
- duplicated: one Idempotency-Key that produced two order ids, a replay that was not the stored
  answer, an effect recorded twice (an order booked, reserved, captured or refunded twice), an
  ERP booking that disagrees with the order's `erp_order_ref`;
- phantom: an order stored that no channel was told was accepted;
- leaked units: `stock_levels.reserved` that differs from the sum of the outstanding quantity of
  the active (held or confirmed) reservations recorded in the orders;
- pending: what has not caught up yet (unpublished or unprocessed events, read models behind,
  orders not yet in their expected status). `settle` polls until nothing is pending; anything
  still pending at its deadline counts as lost.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg

from entrypoints.container import CONSUMERS
from tests.faults.erp import ControllableErp
from tests.faults.load import Operation

CONSUMERS_OF = CONSUMERS.consumers_of
#: Scenario report lines, printed together at the end of the run (conftest's terminal summary).
REPORT: list[str] = []
#: Events an order records at most once in the scenarios of this suite.
ONCE_PER_ORDER = ("OrderPlaced", "InventoryReserved", "OrderBooked", "PaymentCaptured")
ONCE_PER_RETURN = ("ReturnReceived", "RefundIssued", "ReturnClosed")
ACTIVE_RESERVATION = ("held", "confirmed")
#: Deliveries neither done nor parked in the dead letters.
UNFINISHED = "SELECT count(*) AS n FROM deliveries WHERE processed_at IS NULL AND dead_at IS NULL"


@dataclass
class Expect:
    """What the scenario did and what it expects to find."""

    operations: list[Operation]
    status: str = "booked"  #: the final status of every accepted order…
    status_of: dict[str, str] = field(default_factory=dict)  #: …unless named here (order id)
    dead_letters: int = 0  #: unreplayed dead letters the scenario expects
    #: (source, event_id) of inbound events the API accepted (200 or 202)
    inbound: list[tuple[str, str]] = field(default_factory=list)
    erp: ControllableErp | None = None


@dataclass
class Counts:
    attempted: int = 0
    accepted: int = 0
    refused: int = 0
    undecided: int = 0
    replays: int = 0
    lost: int = 0
    duplicated: int = 0
    phantom: int = 0
    leaked_units: int = 0
    dead: int = 0
    pending: int = 0
    events: int = 0
    deliveries: int = 0
    #: deliveries published more than once (by the relay's timeout) and attempted more than once
    #: (redelivered by the broker or retried): duplicates the consumers had to suppress
    republished: int = 0
    reattempted: int = 0
    recovered_s: float | None = None
    #: (seconds since the fault ended, pending, the first thing waiting) while settling
    progress: list[tuple[float, int, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)

    @property
    def settled(self) -> bool:
        return self.pending == 0

    @property
    def holds(self) -> bool:
        return self.settled and not (
            self.lost or self.duplicated or self.phantom or self.leaked_units or self.problems
        )

    def line(self, scenario: str) -> str:
        recovered = f"{self.recovered_s:.1f}s" if self.recovered_s is not None else "NEVER"
        return (
            f"{scenario}: attempted={self.attempted} accepted={self.accepted} lost={self.lost} "
            f"duplicated={self.duplicated} recover={recovered} | refused={self.refused} "
            f"undecided={self.undecided} replays={self.replays} phantom={self.phantom} "
            f"leaked_units={self.leaked_units} dead={self.dead} events={self.events} "
            f"deliveries={self.deliveries} republished={self.republished} "
            f"reattempted={self.reattempted}"
        )

    def explain(self) -> str:
        return "\n".join(["problems:", *self.problems[:20], "waiting:", *self.waiting[:20]])


def dsn(db_url: str) -> str:
    return db_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def query(db_url: str, sql: str) -> list[asyncpg.Record]:
    """The rows of one statement on the scenario's database, on a connection of its own."""

    async def fetch() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn(db_url), timeout=5)
        try:
            return list(await conn.fetch(sql))
        finally:
            await conn.close()

    return asyncio.run(fetch())


def scalar(db_url: str, sql: str) -> int:
    return int(query(db_url, sql)[0][0] or 0)


def drain(db_url: str, deadline: float) -> float | None:
    """Seconds until every delivery is finished and every event published (None: not by the
    deadline)."""
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        unpublished = scalar(db_url, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
        if scalar(db_url, UNFINISHED) == 0 and unpublished == 0:
            return time.monotonic() - started
        time.sleep(1.0)
    return None


async def _snapshot(db_url: str) -> dict[str, list[asyncpg.Record]]:
    queries = {
        "orders": "SELECT id::text, channel_order_ref, status, version, state FROM orders",
        "outbox": "SELECT event_id::text, event_type, aggregate_id, aggregate_version, "
        "published_at IS NOT NULL AS published, payload FROM outbox",
        "deliveries": "SELECT event_id::text, consumer, attempts, publications, "
        "processed_at IS NOT NULL AS processed, dead_at IS NOT NULL AS dead FROM deliveries",
        "dead_letters": "SELECT message_id, consumer, event_type, reason FROM dead_letters "
        "WHERE replayed_at IS NULL",
        "views": "SELECT order_id::text, version, status FROM order_views",
        "timeline": "SELECT order_id::text, aggregate_version, event_id::text FROM timeline_entries",
        "stock": "SELECT sku, location, on_hand, reserved FROM stock_levels",
        "inbox": "SELECT consumer, message_id FROM inbox",
        "deferred": "SELECT source, event_id FROM inbound_deferred",
        "subscriptions": "SELECT id FROM webhook_subscriptions",
    }
    conn = await asyncpg.connect(dsn(db_url), timeout=5)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            return {name: await conn.fetch(sql) for name, sql in queries.items()}
    finally:
        await conn.close()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def reconcile(db_url: str, expect: Expect, *, final: bool = False) -> Counts:
    """Count; with `final`, what is still pending counts as lost."""
    snap = asyncio.run(_snapshot(db_url))
    counts = Counts()
    _channel_side(counts, expect, snap)
    _events(counts, expect, snap)
    _read_models(counts, snap)
    _stock(counts, snap)
    if expect.erp is not None:
        _erp(counts, expect.erp, snap)
    _inbound(counts, expect, snap)
    counts.pending = len(counts.waiting)
    if final and counts.pending:
        counts.lost += counts.pending
        counts.problems.append(f"{counts.pending} things never caught up (see waiting)")
    return counts


def _wait(counts: Counts, what: str) -> None:
    counts.waiting.append(what)


def _channel_side(counts: Counts, expect: Expect, snap: dict[str, list[Any]]) -> None:
    orders = {r["id"]: r for r in snap["orders"]}
    by_ref = {r["channel_order_ref"]: r["id"] for r in snap["orders"]}
    told: set[str] = set()
    for op in expect.operations:
        counts.attempted += 1
        counts.replays += op.replays
        if len(op.order_ids) > 1:
            counts.duplicated += 1
            counts.problems.append(f"{op.ref}: one Idempotency-Key, several orders {op.order_ids}")
        for bad in op.bad_replays:
            counts.duplicated += 1
            counts.problems.append(f"{op.ref}: a replay answered {bad}")
        if op.accepted:
            counts.accepted += 1
            assert op.order_id is not None
            told.add(op.order_id)
            if op.order_id not in orders:
                counts.lost += 1
                counts.problems.append(f"{op.ref}: answered 201 {op.order_id}, not stored")
                continue
            want = expect.status_of.get(op.order_id, expect.status)
            if orders[op.order_id]["status"] != want:
                _wait(counts, f"{op.ref}: {orders[op.order_id]['status']}, expected {want}")
        elif op.status is None:
            counts.undecided += 1
            if op.ref in by_ref:  # accepted after all; the client just never heard
                told.add(by_ref[op.ref])
        else:
            counts.refused += 1
    for order_id, row in orders.items():
        if order_id not in told:
            counts.phantom += 1
            counts.problems.append(f"{row['channel_order_ref']}: stored, no channel was told")


def _events(counts: Counts, expect: Expect, snap: dict[str, list[Any]]) -> None:
    per_order: dict[str, Counter[str]] = {}
    per_return: dict[str, Counter[str]] = {}
    refunded: dict[str, Decimal] = {}
    published = set()
    counts.events = len(snap["outbox"])
    for row in snap["outbox"]:
        per_order.setdefault(row["aggregate_id"], Counter())[row["event_type"]] += 1
        payload = _json(row["payload"])
        if "return_id" in payload:
            per_return.setdefault(payload["return_id"], Counter())[row["event_type"]] += 1
        if row["event_type"] == "RefundIssued":
            refunded[row["aggregate_id"]] = refunded.get(row["aggregate_id"], Decimal(0)) + Decimal(
                str(payload["amount"])
            )
        if row["published"]:
            published.add(row["event_id"])
        else:
            _wait(counts, f"event {row['event_type']} of {row['aggregate_id']} not published")
    for aggregate, types in per_order.items():
        for event_type in ONCE_PER_ORDER:
            if types[event_type] > 1:
                counts.duplicated += types[event_type] - 1
                counts.problems.append(f"order {aggregate}: {event_type} x{types[event_type]}")
    for return_id, types in per_return.items():
        for event_type in ONCE_PER_RETURN:
            if types[event_type] > 1:
                counts.duplicated += types[event_type] - 1
                counts.problems.append(f"return {return_id}: {event_type} x{types[event_type]}")
    for row in snap["orders"]:
        payment = _json(row["state"])["payment"]
        if Decimal(payment["refunded"]) != refunded.get(row["id"], Decimal(0)):
            counts.duplicated += 1
            counts.problems.append(
                f"order {row['id']}: refunded {payment['refunded']}, refund events say "
                f"{refunded.get(row['id'], Decimal(0))}"
            )
        if Decimal(payment["captured"]) > Decimal(payment["authorized"]):
            counts.duplicated += 1
            counts.problems.append(f"order {row['id']}: captured more than authorized")
    _deliveries(counts, expect, snap, published)


def _deliveries(
    counts: Counts, expect: Expect, snap: dict[str, list[Any]], published: set[str]
) -> None:
    done = {(r["event_id"], r["consumer"]): r for r in snap["deliveries"]}
    counts.deliveries = len(done)
    counts.republished = sum(r["publications"] > 1 for r in done.values())
    counts.reattempted = sum(r["attempts"] > 1 for r in done.values())
    # A consumer that hears events only for someone (the webhooks consumer) is sent none while
    # nobody subscribes (ports.audience): expected only where a subscription was ever made.
    unheard = CONSUMERS.on_demand if not snap["subscriptions"] else frozenset()
    for row in snap["outbox"]:
        if row["event_id"] not in published:
            continue
        for consumer in CONSUMERS_OF(row["event_type"]):
            if consumer in unheard:
                continue
            delivery = done.get((row["event_id"], consumer))
            if delivery is None:
                counts.lost += 1
                counts.problems.append(
                    f"{row['event_type']} {row['event_id']}: no delivery to {consumer}"
                )
            elif not delivery["processed"] and not delivery["dead"]:
                _wait(
                    counts,
                    f"{row['event_type']} of {row['aggregate_id']} not processed by {consumer}",
                )
    counts.dead = len(snap["dead_letters"])
    if counts.dead > expect.dead_letters:
        counts.lost += counts.dead - expect.dead_letters
        for letter in snap["dead_letters"]:
            counts.problems.append(
                f"dead letter: {letter['event_type']} for {letter['consumer']} ({letter['reason']})"
            )
    elif counts.dead < expect.dead_letters:
        _wait(counts, f"{counts.dead} dead letters, expected {expect.dead_letters}")


def _read_models(counts: Counts, snap: dict[str, list[Any]]) -> None:
    orders = {r["id"]: r for r in snap["orders"]}
    views = {r["order_id"]: r for r in snap["views"]}
    for order_id, row in orders.items():
        view = views.get(order_id)
        if view is None or (view["version"], view["status"]) != (row["version"], row["status"]):
            seen = (view["version"], view["status"]) if view else None
            _wait(counts, f"view of {row['channel_order_ref']}: {seen}, order at {row['version']}")
    for order_id in views.keys() - orders.keys():
        counts.problems.append(f"a view of order {order_id}, which is not stored")
    events = {(r["aggregate_id"], r["aggregate_version"]): r["event_id"] for r in snap["outbox"]}
    for entry in snap["timeline"]:
        if events.get((entry["order_id"], entry["aggregate_version"])) != entry["event_id"]:
            counts.problems.append(f"timeline entry {entry['event_id']} is no event of its order")


def _stock(counts: Counts, snap: dict[str, list[Any]]) -> None:
    held: Counter[tuple[str, str]] = Counter()
    for row in snap["orders"]:
        for r in _json(row["state"])["reservations"]:
            if r["status"] in ACTIVE_RESERVATION:
                held[(r["sku"], r["location"])] += r["quantity"] - r["fulfilled"] - r["released"]
    levels = {(r["sku"], r["location"]): r for r in snap["stock"]}
    for key in levels.keys() | held.keys():
        reserved = levels[key]["reserved"] if key in levels else 0
        if reserved != held[key]:
            counts.leaked_units += abs(reserved - held[key])
            counts.problems.append(
                f"stock {key}: reserved {reserved}, reservations hold {held[key]}"
            )
        if key in levels and levels[key]["on_hand"] < reserved:
            counts.problems.append(f"stock {key}: reserved {reserved} above on hand")


def _erp(counts: Counts, erp: ControllableErp, snap: dict[str, list[Any]]) -> None:
    refs = {r["id"]: _json(r["state"])["erp_order_ref"] for r in snap["orders"]}
    booked = erp.bookings()
    for order_id, ref in booked.items():
        if order_id not in refs:
            counts.problems.append(f"the ERP booked {order_id}, which is not stored")
        elif refs[order_id] is None:
            _wait(counts, f"the ERP booked {order_id} as {ref}; the order does not know yet")
        elif refs[order_id] != ref:
            counts.duplicated += 1
            counts.problems.append(f"order {order_id}: {refs[order_id]}, the ERP booked {ref}")
    for order_id, ref in refs.items():
        if ref is not None and order_id not in booked:
            counts.problems.append(f"order {order_id} says {ref}; the ERP never booked it")


def _inbound(counts: Counts, expect: Expect, snap: dict[str, list[Any]]) -> None:
    applied = {(r["consumer"], r["message_id"]) for r in snap["inbox"]}
    for source, event_id in expect.inbound:
        if (f"inbound:{source}", event_id) not in applied:
            _wait(counts, f"inbound {source} {event_id} not applied")
    for row in snap["deferred"]:
        _wait(counts, f"inbound {row['source']} {row['event_id']} still deferred")


def settle(db_url: str, expect: Expect, since: float, timeout: float = 90.0) -> Counts:
    """Reconcile every second until nothing is pending (the run has recovered) or `timeout`;
    `recovered_s` is measured from `since` (the end of the fault, `time.monotonic()`)."""
    deadline = time.monotonic() + timeout
    progress: list[tuple[float, int, str]] = []
    while True:
        counts = reconcile(db_url, expect)
        counts.progress = progress
        if counts.settled:
            counts.recovered_s = time.monotonic() - since
            return counts
        progress.append((round(time.monotonic() - since, 1), counts.pending, counts.waiting[0]))
        if time.monotonic() > deadline:
            final = reconcile(db_url, expect, final=True)
            final.progress = progress
            return final
        time.sleep(1.0)


def report(scenario: str, counts: Counts, extra: str = "") -> None:
    line = counts.line(scenario) + (f" | {extra}" if extra else "")
    REPORT.append(line)
    print(line)
    for seconds, pending, first in counts.progress[::5]:
        print(f"    +{seconds}s pending={pending} e.g. {first}")


def accepted_ids(operations: Iterable[Operation]) -> list[str]:
    return [op.order_id for op in operations if op.order_id is not None and op.accepted]

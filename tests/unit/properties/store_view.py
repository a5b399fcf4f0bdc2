"""Reading the hub's committed store for the invariants: fingerprints, streams, stock sums."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from adapters.memory.store import InMemoryStore
from application.reactions import reactions_to
from domain.commands import FillBackorders
from domain.inventory import StockKey
from domain.order import Order
from ports.outbox import EventEnvelope


def fingerprint(store: InMemoryStore) -> tuple[Any, ...]:
    """Everything a command may change, as plain values, so two reads compare with `==`."""
    return (
        len(store.outbox),
        len(store.inbox),
        store.commits,
        {order_id: _order(order) for order_id, order in store.orders.items()},
        {
            key: (level.on_hand, level.reserved, level.last_sequence, level.version)
            for key, level in store.stock.items()
        },
    )


def _order(order: Order) -> tuple[Any, ...]:
    payment = order.payment
    return (
        order.version,
        order.status,
        order.erp_order_ref,
        order.shipping_address,
        order.hold_reason,
        order.resume_to,
        tuple(order.case_ids),
        (payment.status, payment.authorized, payment.captured, payment.refunded),
        tuple((ln.sku, ln.quantity, ln.shipped) for ln in order.lines),
        tuple((r.id, r.status, r.quantity, r.fulfilled, r.released, r.expires_at)
              for r in order.reservations),
        tuple((s.id, tuple(s.lines.items()), s.delivered_at) for s in order.shipments.values()),
        tuple(
            (ret.id, ret.status, ret.refund_amount, ret.credit_memo_ref,
             tuple((ln.sku, ln.quantity, ln.received, ln.disposition) for ln in ret.lines))
            for ret in order.returns.values()
        ),
    )  # fmt: skip


def versions_by_stream(store: InMemoryStore) -> dict[str, list[int]]:
    """`aggregate_id -> aggregate_version` of its events, in outbox order."""
    streams: dict[str, list[int]] = defaultdict(list)
    for envelope in store.outbox:
        streams[envelope.aggregate_id].append(envelope.aggregate_version)
    return streams


def reserved_by_orders(store: InMemoryStore) -> dict[StockKey, int]:
    """Units every order's active reservations still hold, per stock level."""
    held: dict[StockKey, int] = defaultdict(int)
    for order in store.orders.values():
        for r in order.reservations:
            if r.is_active:
                held[r.key] += r.outstanding
    return held


def levels_with_reported_shortfall(store: InMemoryStore) -> set[str]:
    """Stream ids (`sku@location`) of levels that ever recorded `StockShortfallDetected`."""
    return {e.aggregate_id for e in store.outbox if e.event_type == "StockShortfallDetected"}


def available_by_sku(store: InMemoryStore) -> dict[str, int]:
    """Units of each SKU a new order could reserve, over all locations."""
    available: dict[str, int] = defaultdict(int)
    for level in store.stock.values():
        available[level.sku] += level.available
    return available


def skus_offered_to_backorders(envelopes: Iterable[EventEnvelope]) -> set[str]:
    """SKUs whose backorders the hub's reactions to these events will try to fill."""
    return {
        command.sku
        for envelope in envelopes
        for command in reactions_to(envelope.payload)
        if isinstance(command, FillBackorders)
    }

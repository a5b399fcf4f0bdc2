"""Test helpers for the simulators: orders to submit, a sleep that records, retries, shapes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from adapters.clock import FixedClock
from domain.customer import Address
from ports.erp import ErpLine, ErpOrder, ErpReturn
from ports.remote import RemoteUnavailable

T = TypeVar("T")

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ADDRESS = Address(name="Ada", line1="1 Main St", city="Berlin", postal_code="10115", country="DE")

#: §5.1: the keys of `data` for each inbound event type the simulators report.
DATA_KEYS = {
    "order.booked": {"order_id", "erp_order_ref"},
    "credit_memo.posted": {"return_id", "credit_memo_ref", "amount"},
    "shipment.dispatched": {
        "order_id", "shipment_id", "location", "carrier", "tracking_number", "lines",
    },
    "shipment.delivered": {"order_id", "shipment_id"},
    "return.received": {"return_id", "lines"},
    "return.inspected": {"return_id", "lines"},
    "stock.snapshot": {"sku", "location", "on_hand", "sequence"},
    "stock.adjusted": {"sku", "location", "delta", "reason"},
    "case.updated": {"case_id", "status", "note"},
}  # fmt: skip


class RecordingSleep:
    """A sleep that notes what it was asked to wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def an_id(n: int) -> UUID:
    return UUID(int=(4 << 76) | (8 << 60) | n)


def an_order(
    n: int = 1,
    lines: dict[str, int] | None = None,
    *,
    locations: dict[str, str] | None = None,
) -> ErpOrder:
    """Order number `n` with `lines` (sku → quantity, MUG×2 by default) held at `locations`."""
    erp_lines = tuple(
        ErpLine(
            sku=sku,
            quantity=quantity,
            unit_price=Decimal("12.50"),
            location=(locations or {}).get(sku),
        )
        for sku, quantity in (lines or {"MUG": 2}).items()
    )
    return ErpOrder(
        order_id=an_id(n),
        channel="web",
        channel_order_ref=f"WEB-{n}",
        customer_email=f"customer{n}@example.com",
        shipping_address=ADDRESS,
        currency="EUR",
        lines=erp_lines,
        total=sum((ln.unit_price * ln.quantity for ln in erp_lines), Decimal(0)),
    )


def a_return(order: ErpOrder, erp_order_ref: str, n: int = 1, **quantities: int) -> ErpReturn:
    """A return of `quantities` by sku (every line in full by default)."""
    wanted = quantities or {ln.sku: ln.quantity for ln in order.lines}
    return ErpReturn(
        return_id=an_id(10_000 + n),
        order_id=order.order_id,
        erp_order_ref=erp_order_ref,
        rma_number=f"RMA-{n:06d}",
        lines=tuple(
            ErpLine(sku=ln.sku, quantity=wanted[ln.sku], unit_price=ln.unit_price)
            for ln in order.lines
            if ln.sku in wanted
        ),
    )


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    clock: FixedClock | None = None,
    attempts: int = 200,
    backoff: timedelta = timedelta(minutes=1),
) -> T:
    """Call until the remote answers, as the hub's retries would; moves `clock` between tries."""
    for _ in range(attempts - 1):
        try:
            return await call()
        except RemoteUnavailable:
            if clock is not None:
                clock.advance(backoff)
    return await call()


def has_the_inbound_shape(event: dict[str, Any]) -> bool:
    """`{event_id, type, occurred_at, data}` with exactly §5.1's `data` keys for the type."""
    optional = {"order_id", "return_id"} if event["type"] == "case.updated" else set()
    keys = set(event["data"])
    return (
        set(event) == {"event_id", "type", "occurred_at", "data"}
        and DATA_KEYS[event["type"]] <= keys <= DATA_KEYS[event["type"]] | optional
    )

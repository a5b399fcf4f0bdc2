"""A realistic Shopify `orders/create` payload (Admin REST order JSON) to start each test from."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

_FIXTURE = json.loads((Path(__file__).parent / "orders_create.json").read_text())


def shopify_order() -> dict[str, Any]:
    """A fresh copy of the fixture: order #1001, two pink iPods (one engraved) with a 10.00
    discount each, three cables, 10.00 shipping, 6 % tax, paid 451.99 USD."""
    return copy.deepcopy(_FIXTURE)


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


_CANCELLED = json.loads((Path(__file__).parent / "orders_cancelled.json").read_text())
_REFUND = json.loads((Path(__file__).parent / "refunds_create.json").read_text())


def shopify_cancelled_order() -> dict[str, Any]:
    """The `orders/cancelled` webhook of the same order #1001: cancelled by the customer."""
    return copy.deepcopy(_CANCELLED)


def shopify_refund() -> dict[str, Any]:
    """A `refunds/create` webhook of order #1001: one damaged cable refunded, 13.77 USD (12.99
    and its tax) in one successful refund transaction."""
    return copy.deepcopy(_REFUND)

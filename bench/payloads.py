"""The place-order bodies the benchmarks send (the same shape from wrk, the fixed-rate client, and
the capture script): what a retailer sends, orders of three lines, in two cases.

- `spread`: each order's 3 lines are 3 distinct SKUs drawn at random from the 1,000 the benchmark
  stocks (little contention);
- `hot`: every order is for the same 3 SKUs (a flash sale: every transaction locks the same 3
  stock rows).

bench/wrk/place_order.lua builds the same bodies in Lua."""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

#: SKUs the benchmark stocks (SKU-00001 … SKU-01000 at dc-east, a million units each).
SKUS = 1000
STOCK_ON_HAND = 1_000_000
#: Lines per order (PRODUCT.md §7: orders of 3 lines).
LINES = 3
#: The flash sale's SKUs: every order of the `hot` case takes one unit of each.
HOT_SKUS = ("SKU-00001", "SKU-00002", "SKU-00003")
CASES = ("spread", "hot")
UNIT_PRICE = Decimal("19.99")

STOCK_SQL = f"""
INSERT INTO stock_levels (sku, location, on_hand)
SELECT 'SKU-' || lpad(i::text, 5, '0'), 'dc-east', {STOCK_ON_HAND}
FROM generate_series(1, {SKUS}) AS i
ON CONFLICT (sku, location) DO UPDATE SET on_hand = EXCLUDED.on_hand, reserved = 0
"""


def sku(n: int) -> str:
    return f"SKU-{1 + n % SKUS:05d}"


def order_skus(case: str, n: int) -> list[str]:
    """The SKUs of the n-th order of `case`: the hot three, or three distinct ones drawn at random
    (seeded by n, so a run is repeatable)."""
    if case == "hot":
        return list(HOT_SKUS)
    if case != "spread":
        raise ValueError(f"unknown case {case!r} (one of {', '.join(CASES)})")
    return [sku(i) for i in random.Random(n).sample(range(SKUS), LINES)]


def order_body(ref: str, n: int, skus: Sequence[str] | None = None) -> dict[str, Any]:
    """An order of one unit of each of `skus` (default: the one SKU `sku(n)`)."""
    skus = list(skus) if skus else [sku(n)]
    total = f"{UNIT_PRICE * len(skus):.2f}"
    return {
        "channel_order_ref": ref,
        "customer": {"email": f"bench{n % 5000}@example.com", "name": "Bench Customer"},
        "shipping_address": {
            "name": "Bench Customer",
            "line1": "1 Harbour Street",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
        },
        "currency": "EUR",
        "lines": [{"sku": s, "quantity": 1, "unit_price": str(UNIT_PRICE)} for s in skus],
        "payment": {"reference": f"pay-{ref}", "amount": total},
    }

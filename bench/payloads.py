"""The place-order body the benchmarks send (the same shape from wrk, the fixed-rate client, and
the capture script): one or two lines of SKUs that the benchmark stocks generously."""

from __future__ import annotations

from typing import Any

#: SKUs the benchmark stocks (SKU-00001 … SKU-01000 at dc-east, a million units each).
SKUS = 1000
STOCK_ON_HAND = 1_000_000

STOCK_SQL = f"""
INSERT INTO stock_levels (sku, location, on_hand)
SELECT 'SKU-' || lpad(i::text, 5, '0'), 'dc-east', {STOCK_ON_HAND}
FROM generate_series(1, {SKUS}) AS i
ON CONFLICT (sku, location) DO UPDATE SET on_hand = EXCLUDED.on_hand, reserved = 0
"""


def sku(n: int) -> str:
    return f"SKU-{1 + n % SKUS:05d}"


def order_body(ref: str, n: int) -> dict[str, Any]:
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
        "lines": [{"sku": sku(n), "quantity": 1, "unit_price": "19.99"}],
        "payment": {"reference": f"pay-{ref}", "amount": "19.99"},
    }

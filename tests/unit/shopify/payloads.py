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

"""Requests a channel sends, built once for the HTTP tests."""

from __future__ import annotations

from typing import Any

from tests.integration.http.conftest import Api


def order_body(ref: str, sku: str = "MUG-1", quantity: int = 2, **extra: Any) -> dict[str, Any]:
    return {
        "channel_order_ref": ref,
        "customer": {"email": "ann@example.com", "name": "Ann Lee"},
        "shipping_address": {
            "name": "Ann Lee", "line1": "1 Main St", "city": "Berlin",
            "postal_code": "10115", "country": "DE",
        },
        "currency": "EUR",
        "lines": [{"sku": sku, "quantity": quantity, "unit_price": "12.50"}],
        "payment": {"reference": f"pay-{ref}", "amount": f"{12.5 * quantity:.2f}"},
        **extra,
    }  # fmt: skip


async def stock(api: Api, sku: str, location: str, on_hand: int, sequence: int = 1) -> None:
    response = await api.client.post(
        "/v1/inbound/warehouse",
        headers=api.auth("system"),
        json={
            "event_id": f"snap-{sku}-{location}-{sequence}",
            "type": "stock.snapshot",
            "occurred_at": "2026-11-02T09:00:00Z",
            "data": {"sku": sku, "location": location, "on_hand": on_hand, "sequence": sequence},
        },
    )
    assert response.status_code == 200, response.text


async def place(api: Api, body: dict[str, Any], key: str, who: str = "web") -> Any:
    return await api.client.post(
        "/v1/orders", json=body, headers={**api.auth(who), "Idempotency-Key": key}
    )

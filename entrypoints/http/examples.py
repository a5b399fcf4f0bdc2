"""Examples for the OpenAPI document: one order's life, as the server answers it (no filler).

tests/unit/http/test_openapi_document.py checks each against the schema it illustrates.
"""

from __future__ import annotations

from typing import Any, Final

_ORDER_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
_RETURN_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

ORDER_EXAMPLE: Final[dict[str, Any]] = {
    "id": _ORDER_ID,
    "channel": "web",
    "channel_order_ref": "W-100234",
    "status": "reserved",
    "version": 2,
    "currency": "EUR",
    "total": "59.98",
    "customer": {"id": "C-8812", "email": "ada@example.com", "name": "Ada Lovelace"},
    "shipping_address": {
        "name": "Ada Lovelace",
        "line1": "12 Analytical Row",
        "line2": None,
        "city": "London",
        "postal_code": "N1 9GU",
        "country": "GB",
    },
    "allow_backorder": False,
    "lines": [
        {
            "sku": "MUG-BLUE-350",
            "quantity": 2,
            "unit_price": "24.99",
            "tax_amount": "5.00",
            "reserved": 2,
            "shipped": 0,
            "returned": 0,
        }
    ],
    "payment": {
        "status": "authorized",
        "reference": "pi_3PqL2x2eZvKYlo2C1a2b3c4d",
        "authorized": "59.98",
        "captured": "0.00",
        "refunded": "0.00",
    },
    "erp_order_ref": None,
    "returns": [],
    "case_ids": [],
    "replacement_for_return_id": None,
    "created_at": "2026-03-02T09:14:07.512000Z",
    "updated_at": "2026-03-02T09:14:07.698000Z",
}

RETURN_EXAMPLE: Final[dict[str, Any]] = {
    "id": _RETURN_ID,
    "order_id": _ORDER_ID,
    "status": "authorized",
    "rma_number": "RMA-2026-000417",
    "lines": [
        {
            "sku": "MUG-BLUE-350",
            "quantity": 1,
            "reason": "arrived chipped",
            "received": 0,
            "disposition": None,
        }
    ],
    "refund_amount": None,
    "credit_memo_ref": None,
    "case_id": None,
    "exchange": None,
    "created_at": "2026-03-09T15:40:22.004000Z",
    "updated_at": "2026-03-09T15:40:22.004000Z",
}

EVENT_PAGE_EXAMPLE: Final[dict[str, Any]] = {
    "items": [
        {
            "event_id": "5b3c1a0e-2f7d-4c1b-9a7e-3d2f6c8b9e01",
            "event_type": "OrderBooked",
            "schema_version": 1,
            "aggregate_type": "order",
            "aggregate_id": _ORDER_ID,
            "aggregate_version": 3,
            "occurred_at": "2026-03-02T09:16:41Z",
            "correlation_id": "a1f4c2de-77b0-4c39-8d2e-6f1e0c9b5a34",
            "causation_id": "evt-sap-20260302-000918",  # the ERP's inbound event_id
            "actor": "erp:7c02e127-2601-4ed4-8ee8-69e14e837f4c",  # source and key id
            "payload": {
                "order_id": _ORDER_ID,
                "erp_order_ref": "SO-448120",
                "order_status": "booked",
            },
        }
    ],
    "next_cursor": "MTcyOTg0NToxNzI5ODQ1",
}

PROBLEM_EXAMPLE: Final[dict[str, Any]] = {
    "type": "https://orderhub.dev/problems/insufficient-stock",
    "title": "Insufficient stock",
    "status": 409,
    "detail": "not enough stock for MUG-BLUE-350 (1 of 2 available)",
    "code": "insufficient_stock",
    "shortages": [{"sku": "MUG-BLUE-350", "requested": 2, "available": 1}],
}

PLACE_ORDER_EXAMPLE: Final[dict[str, Any]] = {
    "channel_order_ref": "W-100234",
    "customer": {"id": "C-8812", "email": "ada@example.com", "name": "Ada Lovelace"},
    "shipping_address": {
        "name": "Ada Lovelace",
        "line1": "12 Analytical Row",
        "city": "London",
        "postal_code": "N1 9GU",
        "country": "GB",
    },
    "currency": "EUR",
    "lines": [{"sku": "MUG-BLUE-350", "quantity": 2, "unit_price": "24.99", "tax_amount": "5.00"}],
    "payment": {"reference": "pi_3PqL2x2eZvKYlo2C1a2b3c4d", "amount": "59.98"},
    "allow_backorder": False,
}

#: operationId → (summary, example) of its request body.
REQUEST_EXAMPLES: Final[dict[str, tuple[str, dict[str, Any]]]] = {
    "placeOrder": ("two mugs for Ada, paid by card", PLACE_ORDER_EXAMPLE),
    "amendOrder": ("one mug instead of two", {"lines": [{"sku": "MUG-BLUE-350", "quantity": 1}]}),
    "holdOrder": ("held for a fraud check", {"reason": "fraud check"}),
    "addNote": ("what the customer said", {"text": "customer called: leave at the door"}),
    "issueAppeasement": (
        "a goodwill refund for a late parcel",
        {"amount": "5.00", "reason": "parcel arrived three days late"},
    ),
}

#: operationId → (summary, example) of its success answer.
RESPONSE_EXAMPLES: Final[dict[str, tuple[str, dict[str, Any]]]] = {
    "placeOrder": ("an order placed and reserved", ORDER_EXAMPLE),
    "getOrder": ("an order, reserved and awaiting booking", ORDER_EXAMPLE),
    "amendOrder": ("the order after the amendment", ORDER_EXAMPLE),
    "requestReturn": ("a return authorized by the channel's policy", RETURN_EXAMPLE),
    "getReturn": ("a return awaiting the parcel", RETURN_EXAMPLE),
    "readEventFeed": ("one event and the cursor to resume from", EVENT_PAGE_EXAMPLE),
}

"""The commerce port: tells the storefront platform what happened to its order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class CommerceStatus:
    channel: str
    channel_order_ref: str
    status: str
    carrier: str | None = None
    tracking_number: str | None = None
    note: str | None = None


class CommercePort(Protocol):
    async def push_status(self, update: CommerceStatus, idempotency_key: str) -> None:
        """Update the platform's order (status, fulfillment, tracking); once per key."""
        ...

"""The `webhook` commerce target (PRODUCT.md §8.2): a channel routed to it hears its orders'
status changes through its webhook subscriptions, not through a push."""

from __future__ import annotations

import logging

from ports.commerce import CommerceStatus

logger = logging.getLogger(__name__)


class ThroughWebhooks:
    """A `CommercePort` that calls nobody. Every status change of an order is an event in the
    outbox (`OrderBooked`, `ShipmentDispatched`, `OrderCancelled`, `RefundIssued`…), and the
    webhooks consumer (application/webhooks.py) already sends each to every subscription of the
    order's channel, signed, retried past outages and in order; a second, status-only POST
    of the same change would only be a duplicate for the receiver to drop. The push is counted
    in `routed` and succeeds."""

    def __init__(self) -> None:
        self.routed = 0

    async def push_status(self, update: CommerceStatus, idempotency_key: str) -> None:
        self.routed += 1
        logger.debug(
            "commerce push of %s for %s %s goes out through the channel's webhook subscriptions",
            update.status, update.channel, update.channel_order_ref,
        )  # fmt: skip

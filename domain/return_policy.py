"""The return policy of a channel: window, non-returnable SKUs, restocking fee, shipping refund."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from domain.errors import NotReturnable, QuantityExceedsReturnable, ReturnWindowExpired


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnPolicy:
    """Defaults: 30 days from delivery, every SKU returnable, no fee, shipping not refunded."""

    window_days: int = 30
    non_returnable_skus: frozenset[str] = frozenset()
    restocking_fee_percent: Decimal = Decimal(0)
    refund_shipping: bool = False
    #: When false, a request waits in `requested` until an agent authorizes it.
    auto_authorize: bool = True

    def check(
        self,
        requested: Sequence[tuple[str, int]],
        returnable: Mapping[str, int],
        delivered_at: Mapping[str, datetime | None],
        now: datetime,
    ) -> None:
        """Refuse a request that breaks this policy; `returnable` counts open returns as taken.

        The window runs from the latest delivery of a shipment carrying the SKU; units shipped but
        not yet delivered are inside the window.
        """
        for sku, _ in requested:
            if sku in self.non_returnable_skus:
                raise NotReturnable(f"{sku} is not returnable on this channel")
        for sku, _ in requested:
            delivered = delivered_at.get(sku)
            if delivered is not None and now - delivered > timedelta(days=self.window_days):
                raise ReturnWindowExpired(
                    f"{sku} was delivered {delivered.isoformat()}, "
                    f"more than {self.window_days} days ago"
                )
        for sku, quantity in requested:
            allowed = returnable.get(sku, 0)
            if quantity > allowed:
                raise QuantityExceedsReturnable(
                    f"{sku}: {quantity} requested, {allowed} returnable"
                )


@dataclass(frozen=True, slots=True)
class ReturnPolicies:
    """The policy of each channel, and the default for channels not listed."""

    default: ReturnPolicy = field(default_factory=ReturnPolicy)
    by_channel: Mapping[str, ReturnPolicy] = field(default_factory=dict)

    def for_channel(self, channel: str) -> ReturnPolicy:
        return self.by_channel.get(channel, self.default)

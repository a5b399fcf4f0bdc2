"""The business settings handlers need: allocation priority, hold TTL, return policies, limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from domain.allocation import LocationPriority
from domain.order_limits import DEFAULT_LIMITS, OrderLimits
from domain.return_policy import ReturnPolicies


@dataclass(frozen=True, slots=True, kw_only=True)
class HubSettings:
    location_priority: LocationPriority = field(default_factory=LocationPriority)
    reservation_ttl: timedelta = timedelta(minutes=30)
    return_policies: ReturnPolicies = field(default_factory=ReturnPolicies)
    #: Most CRM cases and returns one order may have.
    order_limits: OrderLimits = DEFAULT_LIMITS
    #: How many backordered orders one stock increase offers its units to, per transaction.
    backorder_batch: int = 50

"""The business settings handlers need: allocation priority, hold TTL, return policies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from domain.allocation import LocationPriority
from domain.return_policy import ReturnPolicies


@dataclass(frozen=True, slots=True, kw_only=True)
class HubSettings:
    location_priority: LocationPriority = field(default_factory=LocationPriority)
    reservation_ttl: timedelta = timedelta(minutes=30)
    return_policies: ReturnPolicies = field(default_factory=ReturnPolicies)
    #: How many backordered orders one stock increase offers its units to, per transaction.
    backorder_batch: int = 50

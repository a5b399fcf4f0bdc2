"""How much one order may gather: CRM cases linked to it, returns requested and appeasements
refunded on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderLimits:
    """Bounds no real order meets, so that no caller can make one order grow without end: each
    linked case gets a CRM comment on every later change (the company's CRM API quota), each
    return calls the ERP and is kept in the order's stored state (cancelled ones count too)."""

    max_cases: int = 20
    max_returns: int = 50
    #: Appeasements refunded on one order (each id is kept in its stored state); not configured.
    max_appeasements: int = 50


#: The bounds when configuration says nothing (`MAX_CASES_PER_ORDER`, `MAX_RETURNS_PER_ORDER`).
DEFAULT_LIMITS: Final = OrderLimits()

"""A return request, checked for shape and then against the channel's policy, opens a return."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from domain.case_ids import case_id_issues
from domain.errors import FieldIssue
from domain.exchange import open_exchange
from domain.money import Money
from domain.order_lines import (
    MAX_REASON_LENGTH,
    LineSpec,
    ensure_no_issues,
    sku_issues,
    text_issues,
)
from domain.return_policy import ReturnPolicy
from domain.returns import Return, ReturnLine, ReturnLineSpec


def open_return(
    *,
    return_id: UUID,
    order_id: UUID,
    lines: Sequence[ReturnLineSpec],
    policy: ReturnPolicy,
    case_id: str | None,
    now: datetime,
    unit_prices: Mapping[str, tuple[Money, Money]],
    returnable: Callable[[str], int],
    delivered_at: Callable[[str], datetime | None],
    currency: str,
    exchange_lines: Sequence[LineSpec] = (),
    exchange_payment: tuple[str, Decimal] | None = None,
) -> Return:
    """The return `lines` ask for, in `requested`: refused with every shape problem at once
    (`ValidationFailed`), then by the first policy rule it breaks, then by its exchange's rules
    (`domain.exchange.open_exchange`) when it asks for replacement `exchange_lines`. `unit_prices`
    has the unit price and the unit's tax of every line of the order; `returnable` and
    `delivered_at` answer for the order, per SKU."""
    _ensure_well_formed(lines, case_id, unit_prices)
    if exchange_payment is not None and not exchange_lines:
        ensure_no_issues(
            [FieldIssue("payment", "only an exchange (exchange_lines) takes a payment")]
        )
    policy.check(
        [(ln.sku, ln.quantity) for ln in lines],
        returnable={ln.sku: returnable(ln.sku) for ln in lines},
        delivered_at={ln.sku: delivered_at(ln.sku) for ln in lines},
        now=now,
    )
    ret = Return(
        id=return_id,
        order_id=order_id,
        lines=[
            ReturnLine(
                sku=ln.sku,
                quantity=ln.quantity,
                reason=ln.reason,
                unit_price=unit_prices[ln.sku][0],
                unit_tax=unit_prices[ln.sku][1],
            )
            for ln in lines
        ],
        # Copied, so that a later change of the channel's policy leaves this return as it is.
        restocking_fee_percent=policy.restocking_fee_percent,
        refunds_shipping=policy.refund_shipping,
        case_id=case_id,
        created_at=now,
        updated_at=now,
    )
    if exchange_lines:
        ret.exchange = open_exchange(
            currency, exchange_lines, exchange_payment, ret.refund_if_all_back(currency)
        )
    return ret


def _ensure_well_formed(
    lines: Sequence[ReturnLineSpec], case_id: str | None, ordered: Mapping[str, object]
) -> None:
    issues: list[FieldIssue] = []
    if not lines:
        issues.append(FieldIssue("lines", "a return needs at least one line"))
    seen: set[str] = set()
    for i, ln in enumerate(lines):
        issues += sku_issues(f"lines[{i}].sku", ln.sku)
        if ln.sku and ln.sku not in ordered:
            issues.append(FieldIssue(f"lines[{i}].sku", f"{ln.sku!r} is not a line of this order"))
        if ln.sku in seen:
            issues.append(FieldIssue(f"lines[{i}].sku", f"duplicate SKU {ln.sku!r}"))
        seen.add(ln.sku)
        if ln.quantity < 1:
            issues.append(FieldIssue(f"lines[{i}].quantity", "must be at least 1"))
        issues += text_issues(f"lines[{i}].reason", ln.reason, MAX_REASON_LENGTH)
    if case_id is not None:
        issues += case_id_issues("case_id", case_id)
    ensure_no_issues(issues)

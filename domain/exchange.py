"""An exchange: the replacement a return asks for, and how the difference with its refund is settled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final
from uuid import UUID

from domain.errors import ExchangePaymentRequired, FieldIssue
from domain.events import LineItem
from domain.money import Money
from domain.order_lines import (
    LineSpec,
    OrderLine,
    build_lines,
    ensure_no_issues,
    money_or_issue,
    text_issues,
)

#: The most replacement lines one return may ask for: the return keeps them in its order's state.
MAX_EXCHANGE_LINES: Final = 50


class ExchangeOutcome(StrEnum):
    """What the receipt decided (docs/money.md, "Exchanges")."""

    #: Every requested unit came back: the replacement is due and the difference settled.
    REPLACED = "replaced"
    #: Fewer units came back than requested: a plain return, its payment for the difference unused.
    FELL_BACK = "fell_back"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangePayment:
    """The customer's authorization for the difference when the replacement costs more."""

    reference: str
    amount: Money


@dataclass(slots=True, kw_only=True)
class Exchange:
    """The replacement lines of a return, and once received, how it was settled.

    Settled at receipt against the refund of what came back (R) and the replacement's total with
    tax (T): the replacement is paid first from R, `credit` = min(R, T); the customer gets back
    R − credit (`Return.money_refund`), and `payment_due` = T − credit is taken from the
    difference payment.
    """

    lines: list[OrderLine]
    payment: ExchangePayment | None = None
    outcome: ExchangeOutcome | None = None
    #: The part of the return's refund that pays for the replacement (zero unless replaced).
    credit: Money | None = None
    payment_due: Money | None = None
    #: The replacement order, once placed (`domain.replacement.place_replacement`).
    replacement_order_id: UUID | None = None

    @property
    def total(self) -> Money:
        """What the replacement costs the customer, tax included (it ships without charge)."""
        return sum((ln.amount for ln in self.lines), Money.zero(self.lines[0].unit_price.currency))

    def settle(self, refund: Money, everything_back: bool) -> ExchangeOutcome:
        """Decide at receipt: replaced when every requested unit came back, else a plain return."""
        zero = Money.zero(refund.currency)
        if not everything_back:
            self.outcome, self.credit, self.payment_due = ExchangeOutcome.FELL_BACK, zero, zero
            return self.outcome
        self.outcome = ExchangeOutcome.REPLACED
        self.credit = self.total if self.total <= refund else refund
        self.payment_due = self.total - self.credit
        return self.outcome

    def line_items(self) -> tuple[LineItem, ...]:
        return tuple(
            LineItem(
                sku=ln.sku,
                quantity=ln.quantity,
                unit_price=ln.unit_price.amount,
                tax_amount=ln.tax_amount.amount,
            )
            for ln in self.lines
        )


def open_exchange(
    currency: str,
    specs: Sequence[LineSpec],
    payment: tuple[str, Decimal] | None,
    refund_if_all_back: Money,
) -> Exchange:
    """The exchange a return request asks for: its lines obey a new order's line rules (under
    `exchange_lines[i]…`); a replacement dearer than `refund_if_all_back` (the refund of every
    requested unit, shipping left out) needs a `payment` of at least the difference
    (`ExchangePaymentRequired`), and a cheaper or equal one takes none (nothing would use it)."""
    lines = build_lines(currency, specs, where="exchange_lines")
    issues: list[FieldIssue] = []
    if len(lines) > MAX_EXCHANGE_LINES:
        issues.append(FieldIssue("exchange_lines", f"at most {MAX_EXCHANGE_LINES} lines"))
    authorized: Money | None = None
    if payment is not None:
        issues += text_issues("payment.reference", payment[0])
        authorized = money_or_issue(payment[1], currency, "payment.amount", issues)
    ensure_no_issues(issues)
    exchange = Exchange(lines=lines)
    if payment is not None and authorized is not None:
        exchange.payment = ExchangePayment(reference=payment[0], amount=authorized)
    difference = exchange.total - refund_if_all_back
    if difference.amount > 0 and (authorized is None or authorized < difference):
        raise ExchangePaymentRequired(str(difference), short=authorized is not None)
    if difference.amount <= 0 and payment is not None:
        ensure_no_issues(
            [
                FieldIssue(
                    "payment",
                    f"the replacement ({exchange.total}) costs no more than the refund "
                    f"({refund_if_all_back}): there is no difference to pay",
                )
            ]
        )
    return exchange

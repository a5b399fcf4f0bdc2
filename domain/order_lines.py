"""Order lines, and the field rules a new order and an amendment of its lines must meet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from domain.customer import Address
from domain.errors import FieldIssue, ValidationFailed
from domain.money import Money, is_known_currency

MAX_LINES: Final = 500
MAX_QUANTITY: Final = 1_000_000
MAX_SKU_LENGTH: Final = 64
MAX_REF_LENGTH: Final = 100
#: The longest reason anyone may give for a hold, a cancel, a return or its refusal.
MAX_REASON_LENGTH: Final = 500


@dataclass(slots=True, kw_only=True)
class OrderLine:
    """`quantity` is what the customer currently wants (amendments reduce it); `shipped` left.
    `unit_price` excludes tax; `tax_amount` is the tax on one unit (zero when the channel sent
    none), so one unit costs the customer `unit_price + tax_amount`."""

    sku: str
    quantity: int
    unit_price: Money
    tax_amount: Money
    shipped: int = 0

    @property
    def unit_gross(self) -> Money:
        """What one unit costs the customer, tax included."""
        return self.unit_price + self.tax_amount

    @property
    def amount(self) -> Money:
        """What the line costs the customer, tax included."""
        return self.unit_gross * self.quantity

    @property
    def unshipped(self) -> int:
        return self.quantity - self.shipped


@dataclass(frozen=True, slots=True, kw_only=True)
class LineSpec:
    """A line as a channel sends it; `tax_amount` is per unit (zero: the channel sent no tax)."""

    sku: str
    quantity: int
    unit_price: Decimal
    tax_amount: Decimal = Decimal(0)


def build_lines(currency: str, specs: Sequence[LineSpec], where: str = "lines") -> list[OrderLine]:
    """Validate the lines of a new order: known currency, quantity ≥ 1, price ≥ 0, tax ≥ 0 (both
    within the currency's minor unit), unique SKUs."""
    issues: list[FieldIssue] = []
    if not is_known_currency(currency):
        raise ValidationFailed([FieldIssue("currency", f"unknown currency {currency!r}")])
    if not specs:
        issues.append(FieldIssue(where, "an order needs at least one line"))
    if len(specs) > MAX_LINES:
        issues.append(FieldIssue(where, f"at most {MAX_LINES} lines"))
    seen: set[str] = set()
    lines: list[OrderLine] = []
    for i, spec in enumerate(specs):
        at = f"{where}[{i}]"
        issues += sku_issues(f"{at}.sku", spec.sku)
        if spec.sku in seen:
            issues.append(FieldIssue(f"{at}.sku", f"duplicate SKU {spec.sku!r}"))
        seen.add(spec.sku)
        if not 1 <= spec.quantity <= MAX_QUANTITY:
            issues.append(FieldIssue(f"{at}.quantity", f"must be between 1 and {MAX_QUANTITY}"))
        price = money_or_issue(spec.unit_price, currency, f"{at}.unit_price", issues)
        tax = money_or_issue(spec.tax_amount, currency, f"{at}.tax_amount", issues)
        lines.append(
            OrderLine(sku=spec.sku, quantity=spec.quantity, unit_price=price, tax_amount=tax)
        )
    if issues:
        raise ValidationFailed(issues)
    return lines


def build_added_lines(
    currency: str, existing: Sequence[OrderLine], specs: Sequence[LineSpec]
) -> list[OrderLine]:
    """Validate lines added to an order (`add_lines[i]…`): a new order's line rules, no SKU the
    order already has (its quantity is the order's; an edit only adds new items), and at most
    `MAX_LINES` lines in all."""
    added = build_lines(currency, specs, where="add_lines")
    have = {ln.sku for ln in existing}
    issues = [
        FieldIssue(f"add_lines[{i}].sku", f"{ln.sku!r} is already a line of this order")
        for i, ln in enumerate(added)
        if ln.sku in have
    ]
    if len(existing) + len(added) > MAX_LINES:
        issues.append(FieldIssue("add_lines", f"an order has at most {MAX_LINES} lines"))
    ensure_no_issues(issues)
    return added


def ensure_valid_amendment(
    lines: Sequence[OrderLine], address: Address | None, quantities: Mapping[str, int]
) -> None:
    """Refuse an amendment with every problem at once (`ValidationFailed`): a quantity can only
    go down (0 removes the line), and removing every line is a cancellation, not an amendment."""
    if address is None and not quantities:
        raise ValidationFailed([FieldIssue("body", "nothing to amend")])
    issues = address.issues() if address else []
    ordered = {ln.sku: ln.quantity for ln in lines}
    for sku, quantity in quantities.items():
        if sku not in ordered:
            issues.append(FieldIssue(f"lines.{sku}", "not a line of this order"))
        elif not 0 <= quantity <= ordered[sku]:
            issues.append(
                FieldIssue(
                    f"lines.{sku}",
                    f"can only reduce (0 to {ordered[sku]}); use a new order to add",
                )
            )
    if not issues and all(quantities.get(ln.sku, ln.quantity) == 0 for ln in lines):
        issues.append(FieldIssue("lines", "removing every line cancels the order: use cancel"))
    ensure_no_issues(issues)


def sku_issues(field: str, sku: str) -> list[FieldIssue]:
    if "\x00" in sku:
        return [FieldIssue(field, "must not contain NUL characters")]
    if not sku.strip():
        return [FieldIssue(field, "must not be blank")]
    if len(sku) > MAX_SKU_LENGTH:
        return [FieldIssue(field, f"at most {MAX_SKU_LENGTH} characters")]
    return []


def text_issues(field: str, value: str, max_length: int = MAX_REF_LENGTH) -> list[FieldIssue]:
    if "\x00" in value:
        return [FieldIssue(field, "must not contain NUL characters")]
    if not value.strip():
        return [FieldIssue(field, "must not be blank")]
    if len(value) > max_length:
        return [FieldIssue(field, f"at most {max_length} characters")]
    return []


def ensure_no_issues(issues: list[FieldIssue]) -> None:
    if issues:
        raise ValidationFailed(issues)


def money_or_issue(amount: Decimal, currency: str, field: str, issues: list[FieldIssue]) -> Money:
    """Parse `amount`, collecting a problem in `issues` (and returning zero) instead of raising."""
    try:
        value = Money.of(amount, currency, field=field)
    except ValidationFailed as e:
        issues += e.issues
        return Money.zero(currency)
    if value.is_negative:
        issues.append(FieldIssue(field, "must not be negative"))
    return value

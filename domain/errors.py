"""Domain errors: a flat tree, each with a stable `code` that clients and tests rely on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import UUID


@dataclass(frozen=True, slots=True)
class FieldIssue:
    """One problem with one input field, named by its dotted path (`lines[2].quantity`)."""

    field: str
    message: str


class DomainError(Exception):
    """Base class for every rule the domain refuses to break. Nothing changes when one is raised."""

    code: ClassVar[str] = "domain_error"
    #: The HTTP-neutral family the edge maps to a status: invalid, conflict, not_found, policy.
    kind: ClassVar[str] = "conflict"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def context(self) -> dict[str, Any]:
        """Structured facts about the refusal, for problem details and logs."""
        return {}


class ValidationFailed(DomainError):
    """Raised when a command's input breaks a field rule (quantity < 1, unknown currency, …)."""

    code = "validation_error"
    kind = "invalid"

    def __init__(self, issues: Iterable[FieldIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("; ".join(f"{i.field}: {i.message}" for i in self.issues))

    def context(self) -> dict[str, Any]:
        return {"errors": [{"field": i.field, "message": i.message} for i in self.issues]}


class InvalidTransition(DomainError):
    """Raised when a command is not legal in the aggregate's current state."""

    code = "invalid_transition"

    def __init__(self, aggregate: str, state: str, command: str) -> None:
        self.aggregate, self.state, self.command = aggregate, state, command
        article = "an" if aggregate[:1] in "aeiou" else "a"
        super().__init__(f"cannot {command} {article} {aggregate} that is {state}")

    def context(self) -> dict[str, Any]:
        return {"aggregate": self.aggregate, "state": self.state, "command": self.command}


class CurrencyMismatch(DomainError):
    """Raised when amounts in different currencies are combined."""

    code = "currency_mismatch"
    kind = "invalid"

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"expected an amount in {expected}, got {actual}")


class VersionMismatch(DomainError):
    """Raised when a client's `If-Match` version is not the aggregate's current version."""

    code = "version_mismatch"
    kind = "precondition"

    def __init__(self, expected: int, actual: int) -> None:
        self.expected, self.actual = expected, actual
        super().__init__(f"expected version {expected}, the current version is {actual}")

    def context(self) -> dict[str, Any]:
        return {"expected_version": self.expected, "current_version": self.actual}


@dataclass(frozen=True, slots=True)
class Shortage:
    """How many units of a SKU could not be reserved anywhere."""

    sku: str
    requested: int
    available: int


class InsufficientStock(DomainError):
    """Raised when an order that does not allow backorder cannot be fully reserved."""

    code = "insufficient_stock"

    def __init__(self, shortages: Iterable[Shortage]) -> None:
        self.shortages = tuple(shortages)
        super().__init__(
            "not enough stock for "
            + ", ".join(
                f"{s.sku} ({s.available} of {s.requested} available)" for s in self.shortages
            )
        )

    def context(self) -> dict[str, Any]:
        return {
            "shortages": [
                {"sku": s.sku, "requested": s.requested, "available": s.available}
                for s in self.shortages
            ]
        }


class NotFound(DomainError):
    """Raised when a referenced aggregate or entity does not exist."""

    code = "not_found"
    kind = "not_found"


class OrderNotFound(NotFound):
    """Raised when no order has the given id (or the caller may not see it)."""

    code = "order_not_found"

    def __init__(self, order_id: UUID) -> None:
        super().__init__(f"order {order_id} not found")


class ReturnNotFound(NotFound):
    """Raised when no return has the given id."""

    code = "return_not_found"

    def __init__(self, return_id: UUID) -> None:
        super().__init__(f"return {return_id} not found")


class ShipmentNotFound(NotFound):
    """Raised when a shipping order has no shipment with the given id: its dispatch has not been
    reported yet (a delivery that came too early, tried again later by the inbound path). Before
    anything shipped, a delivery is an `InvalidTransition` of the order instead."""

    code = "shipment_not_found"

    def __init__(self, shipment_id: str) -> None:
        super().__init__(f"shipment {shipment_id} not found")


class ChannelOrderNotFound(NotFound):
    """Raised when a channel names an order by its own reference and the hub has no such order
    (it was never placed here, or its placement was refused)."""

    code = "channel_order_not_found"

    def __init__(self, channel: str, channel_order_ref: str) -> None:
        self.channel, self.channel_order_ref = channel, channel_order_ref
        super().__init__(f"no order {channel_order_ref!r} of channel {channel!r}")

    def context(self) -> dict[str, Any]:
        return {"channel": self.channel, "channel_order_ref": self.channel_order_ref}


class UnknownReplacementReturn(DomainError):
    """Raised when an order placed as a replacement names a return that does not exist or that
    belongs to another channel's order. The two are one refusal, so that no channel learns which
    return ids exist elsewhere."""

    code = "replacement_return_not_found"
    kind = "invalid"

    def __init__(self, return_id: UUID) -> None:
        self.return_id = return_id
        super().__init__(
            f"replacement_for_return_id {return_id} names no return of an order of this channel"
        )

    def context(self) -> dict[str, Any]:
        return {"replacement_for_return_id": str(self.return_id)}


class DuplicateOrder(DomainError):
    """Raised when a channel places a second order with the same channel order reference."""

    code = "duplicate_order"

    def __init__(self, channel: str, channel_order_ref: str, existing_id: UUID) -> None:
        self.existing_id = existing_id
        super().__init__(
            f"order {channel_order_ref!r} of channel {channel!r} exists as {existing_id}"
        )

    def context(self) -> dict[str, Any]:
        return {"existing_order_id": str(self.existing_id)}


class ShipmentExceedsOrdered(DomainError):
    """Raised when a shipment would take a line's shipped quantity above its ordered quantity."""

    code = "shipment_exceeds_ordered"

    def __init__(self, sku: str, ordered: int, shipped: int) -> None:
        super().__init__(f"{sku}: shipping {shipped} would exceed the {ordered} ordered")


class ShipmentConflict(DomainError):
    """Raised when a shipment id is reported again with different contents."""

    code = "shipment_conflict"

    def __init__(self, shipment_id: str) -> None:
        super().__init__(f"shipment {shipment_id} was already recorded with other contents")


class CaptureExceedsAuthorized(DomainError):
    """Raised when a capture asks for more than the payment authorization covers."""

    code = "capture_exceeds_authorized"

    def __init__(self, requested: str, authorized: str) -> None:
        super().__init__(f"cannot capture {requested}: only {authorized} is authorized")


class RefundExceedsCaptured(DomainError):
    """Raised when a refund would take the refunded total above what was captured."""

    code = "refund_exceeds_captured"

    def __init__(self, requested: str, refundable: str) -> None:
        super().__init__(f"cannot refund {requested}: only {refundable} is refundable")
        self.refundable = refundable

    def context(self) -> dict[str, Any]:
        return {"refundable": self.refundable}


class ExchangePaymentRequired(DomainError):
    """Raised when an exchange's replacement costs more than the refund of the returned units and
    the request carries no `payment`, or one for less than the difference."""

    code = "exchange_payment_required"
    kind = "invalid"

    def __init__(self, difference: str, *, short: bool) -> None:
        self.difference = difference
        self.field = "payment.amount" if short else "payment"
        super().__init__(
            f"the replacement costs {difference} more than the refund of the returned units: "
            f"a payment of at least that is required"
        )

    def context(self) -> dict[str, Any]:
        return {
            "difference": self.difference,
            "errors": [{"field": self.field, "message": f"must cover {self.difference}"}],
        }


class ReturnPolicyViolation(DomainError):
    """Base for a return request that breaks the channel's return policy; nothing is stored."""

    kind = "policy"


class ReturnWindowExpired(ReturnPolicyViolation):
    """Raised when a return is requested after the policy's window from delivery."""

    code = "return_window_expired"


class NotReturnable(ReturnPolicyViolation):
    """Raised when a return names a SKU the policy marks as non-returnable."""

    code = "not_returnable"


class QuantityExceedsReturnable(ReturnPolicyViolation):
    """Raised when a return asks for more than shipped minus already returned (open returns count)."""

    code = "quantity_exceeds_returnable"


class ReceiptExceedsReturn(DomainError):
    """Raised when the warehouse reports receiving more units than the return authorized."""

    code = "receipt_exceeds_return"

    def __init__(self, sku: str, expected: int, received: int) -> None:
        super().__init__(f"{sku}: received {received}, the return covers {expected}")


class LimitReached(DomainError):
    """Base for a command that would take an order past one of its bounds (`OrderLimits`)."""

    kind = "limit"

    def __init__(self, detail: str, limit: int) -> None:
        super().__init__(detail)
        self.limit = limit

    def context(self) -> dict[str, Any]:
        return {"limit": self.limit}


class TooManyCases(LimitReached):
    """Raised when linking one more CRM case would take an order past its most linked cases."""

    code = "too_many_cases"

    def __init__(self, limit: int) -> None:
        super().__init__(f"an order may have at most {limit} CRM cases linked", limit)


class TooManyAppeasements(LimitReached):
    """Raised when one more appeasement would take an order past its most appeasements."""

    code = "too_many_appeasements"

    def __init__(self, limit: int) -> None:
        super().__init__(f"an order may have at most {limit} appeasements refunded", limit)


class TooManyReturns(LimitReached):
    """Raised when one more return would take an order past its most returns (cancelled and
    rejected ones count: requesting and cancelling in a loop is what the bound stops)."""

    code = "too_many_returns"

    def __init__(self, limit: int) -> None:
        super().__init__(f"an order may have at most {limit} returns requested", limit)

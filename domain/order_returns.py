"""Returns of an order: the policy check on request, receipt, inspection, credit memo, refund."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID

from domain.errors import FieldIssue, ReturnNotFound
from domain.events import ReturnEvent
from domain.inventory import Movement, StockKey, StockMovement, apply_movements
from domain.money import Money
from domain.order_lifecycle import OrderStatus
from domain.order_lines import ensure_no_issues, sku_issues, text_issues
from domain.order_state import OrderState, Stock
from domain.return_policy import ReturnPolicy
from domain.returns import (
    RETURN_TRANSITIONS,
    Disposition,
    Return,
    ReturnCommand,
    ReturnLine,
    ReturnLineSpec,
    ReturnStatus,
)

_MAX_REASON = 500


class OrderReturns(OrderState):
    """Returns are entities of their order: the order guards returnable quantities and the refund
    against its payment in one consistency boundary, and its event stream tells the whole story."""

    def get_return(self, return_id: UUID) -> Return:
        try:
            return self.returns[return_id]
        except KeyError:
            raise ReturnNotFound(return_id) from None

    def request_return(
        self,
        *,
        return_id: UUID,
        lines: Sequence[ReturnLineSpec],
        policy: ReturnPolicy,
        rma_number: str,
        now: datetime,
        case_id: str | None = None,
    ) -> Return:
        """Open a return if the channel's policy allows it; authorize it at once when the policy
        authorizes automatically (the hub owns the policy, the RMA number is ours)."""
        self._ensure_valid_request(lines, case_id)
        policy.check(
            [(ln.sku, ln.quantity) for ln in lines],
            returnable={ln.sku: self.returnable(ln.sku) for ln in lines},
            delivered_at={ln.sku: self.delivered_at(ln.sku) for ln in lines},
            now=now,
        )
        ret = Return(
            id=return_id,
            order_id=self.id,
            lines=[
                ReturnLine(
                    sku=ln.sku,
                    quantity=ln.quantity,
                    reason=ln.reason,
                    unit_price=self._unit_price(ln.sku),
                )
                for ln in lines
            ],
            restocking_fee_percent=policy.restocking_fee_percent,
            refunds_shipping=policy.refund_shipping,
            case_id=case_id,
            created_at=now,
            updated_at=now,
        )
        self.returns[return_id] = ret
        self.updated_at = now
        self._record(ret.requested())
        if policy.auto_authorize:
            self._record(ret.authorize(rma_number, now))
        if case_id is not None:
            self.link_case(case_id, now, return_id)
        return ret

    def authorize_return(self, return_id: UUID, rma_number: str, now: datetime) -> None:
        ensure_no_issues(text_issues("rma_number", rma_number))
        self._on_return(self.get_return(return_id).authorize(rma_number, now), now)

    def reject_return(self, return_id: UUID, reason: str, now: datetime) -> None:
        ensure_no_issues(text_issues("reason", reason, _MAX_REASON))
        self._on_return(self.get_return(return_id).reject(reason, now), now)

    def cancel_return(self, return_id: UUID, now: datetime) -> None:
        """Withdraw a return before the warehouse received it; its units become returnable again."""
        self._on_return(self.get_return(return_id).cancel(now), now)

    def receive_return(
        self, return_id: UUID, received: Sequence[tuple[str, int]], now: datetime
    ) -> None:
        """The warehouse counted what came back; the refund due is computed now."""
        ret = self.get_return(return_id)
        RETURN_TRANSITIONS.ensure_allowed(ret.status, ReturnCommand.RECEIVE)
        self._on_return(ret.receive(received, self._shipping_refund(ret, received), now), now)

    def inspect_return(
        self, return_id: UUID, dispositions: Mapping[str, Disposition], now: datetime, stock: Stock
    ) -> None:
        """Every received line gets a disposition; `restock` units go back on hand where they
        shipped from."""
        ret = self.get_return(return_id)
        restock_at = {ln.sku: self._shipped_from(ln.sku) for ln in ret.lines}
        event = ret.inspect(dispositions, restock_at, now)
        apply_movements(
            [
                StockMovement(StockKey(sku, restock_at[sku]), Movement.RESTOCK, quantity)
                for sku, quantity in ret.restock_quantities().items()
            ],
            stock,
        )
        self._on_return(event, now)

    def post_credit_memo(
        self, return_id: UUID, credit_memo_ref: str, amount: Money, now: datetime
    ) -> None:
        """The ERP posted a credit memo: refund it when it matches the computed refund, otherwise
        hold the return for an agent. The same memo posted twice is harmless."""
        ret = self.get_return(return_id)
        ensure_no_issues(text_issues("credit_memo_ref", credit_memo_ref))
        if ret.credit_memo_ref == credit_memo_ref and ret.status in (
            ReturnStatus.REFUNDED,
            ReturnStatus.CLOSED,
            ReturnStatus.ON_HOLD,
        ):
            return
        RETURN_TRANSITIONS.ensure_allowed(ret.status, ReturnCommand.POST_CREDIT_MEMO)
        refunds_money = amount == ret.refund_amount and amount.amount > 0
        if refunds_money:
            self.payment.ensure_refundable(amount)
        if not ret.post_credit_memo(credit_memo_ref, amount, now):
            self._on_return(ret.held(), now)
            return
        if refunds_money:
            self.payment.refund(amount)
        self._on_return(ret.refund_issued(self.payment.status), now)

    def release_return_hold(self, return_id: UUID, now: datetime) -> None:
        self._on_return(self.get_return(return_id).release_hold(now), now)

    def close_return(self, return_id: UUID, now: datetime) -> None:
        """Commerce and the CRM were told about the refund: the return is done."""
        self._on_return(self.get_return(return_id).close(now), now)

    # -- rules -------------------------------------------------------------------------------

    def _ensure_valid_request(self, lines: Sequence[ReturnLineSpec], case_id: str | None) -> None:
        issues: list[FieldIssue] = []
        if not lines:
            issues.append(FieldIssue("lines", "a return needs at least one line"))
        seen: set[str] = set()
        for i, ln in enumerate(lines):
            issues += sku_issues(f"lines[{i}].sku", ln.sku)
            if ln.sku and self.line(ln.sku) is None:
                issues.append(
                    FieldIssue(f"lines[{i}].sku", f"{ln.sku!r} is not a line of this order")
                )
            if ln.sku in seen:
                issues.append(FieldIssue(f"lines[{i}].sku", f"duplicate SKU {ln.sku!r}"))
            seen.add(ln.sku)
            if ln.quantity < 1:
                issues.append(FieldIssue(f"lines[{i}].quantity", "must be at least 1"))
            issues += text_issues(f"lines[{i}].reason", ln.reason, _MAX_REASON)
        if case_id is not None:
            issues += text_issues("case_id", case_id)
        ensure_no_issues(issues)

    def _unit_price(self, sku: str) -> Money:
        line = self.line(sku)
        assert line is not None
        return line.unit_price

    def _shipped_from(self, sku: str) -> str:
        """Where restocked units of `sku` go back: the location of its first shipment."""
        shipments = sorted(self.shipments.values(), key=lambda s: s.dispatched_at)
        return next(s.location for s in shipments if sku in s.lines)

    def _shipping_refund(self, ret: Return, received: Sequence[tuple[str, int]]) -> Money:
        """Shipping is refunded (when the policy says so) once, by the return that brings back
        the last unit of a fully shipped order."""
        zero = Money.zero(self.currency)
        if not ret.refunds_shipping or not self.shipping_amount.amount:
            return zero
        if any(r.shipping_refund and r.shipping_refund.amount for r in self.returns.values()):
            return zero
        if self.status not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            return zero
        now_received = dict(received)
        everything_back = all(
            self.returned(ln.sku) + now_received.get(ln.sku, 0) >= ln.quantity for ln in self.lines
        )
        return self.shipping_amount if everything_back else zero

    def _on_return(self, event: ReturnEvent, now: datetime) -> None:
        self.updated_at = now
        self._record(event)

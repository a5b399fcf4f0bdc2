"""A simulated payment provider: captures, voids and refunds once per idempotency key, with declines."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from adapters.simulators.chance import chance, stream
from adapters.simulators.faults import FaultModel
from ports.payment import PaymentDeclined
from ports.remote import RemoteRejected


@dataclass(frozen=True, slots=True, kw_only=True)
class Charge:
    """A capture or a refund the provider made."""

    charge_id: str
    payment_reference: str
    amount: Decimal
    currency: str


@dataclass(slots=True)
class PaymentStats:
    captures: int = 0
    refunds: int = 0
    declines: int = 0
    voids: int = 0
    #: repeated calls answered from the idempotency record, with no new money movement
    duplicates_suppressed: int = 0


class SimulatedPayments:
    """A payment provider that moves money at most once per idempotency key: a repeated call
    with the same key returns the first answer (even a decline); the same key with a different
    reference, amount or currency is refused (`RemoteRejected`), as real providers do.

    Captures of a reference in `declined_references`, or of one drawn by the seeded
    `decline_rate` (decided per reference, so retries see the same answer), are declined. A
    refund is refused unless the reference was captured in that currency, and never takes the
    reference's refunds past what was captured. A void releases an authorization that was not
    captured; voiding it again changes nothing, a captured one cannot be voided, and a voided one
    cannot be captured.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        faults: FaultModel | None = None,
        declined_references: Iterable[str] = (),
        decline_rate: float = 0.0,
    ) -> None:
        self._seed = seed
        self._faults = faults or FaultModel()
        self._declined = frozenset(declined_references)
        self._decline_rate = decline_rate
        self._answers: dict[str, tuple[tuple[str, str, Decimal, str], Charge | str]] = {}
        self._captures: list[Charge] = []
        self._refunds: list[Charge] = []
        self._voided: set[str] = set()
        self.stats = PaymentStats()

    async def capture(
        self, payment_reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> str:
        """Capture `amount` of the authorization; once per key."""
        await self._faults.arrive("payment capture")
        charge = self._once("capture", idempotency_key, payment_reference, amount, currency)
        self._faults.respond("payment capture")
        return charge.charge_id

    async def void(self, payment_reference: str, idempotency_key: str) -> None:
        """Release the authorization unless it was captured; voiding twice changes nothing."""
        await self._faults.arrive("payment void")
        self._void(payment_reference, idempotency_key)
        self._faults.respond("payment void")

    async def refund(
        self, payment_reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> str:
        """Refund `amount` of what was captured; once per key."""
        await self._faults.arrive("payment refund")
        charge = self._once("refund", idempotency_key, payment_reference, amount, currency)
        self._faults.respond("payment refund")
        return charge.charge_id

    # -- what the provider did -------------------------------------------------------------------

    def captures(self, payment_reference: str | None = None) -> list[Charge]:
        return [c for c in self._captures if payment_reference in (None, c.payment_reference)]

    def refunds(self, payment_reference: str | None = None) -> list[Charge]:
        return [c for c in self._refunds if payment_reference in (None, c.payment_reference)]

    def captured(self, payment_reference: str) -> Decimal:
        return sum((c.amount for c in self.captures(payment_reference)), Decimal(0))

    def refunded(self, payment_reference: str) -> Decimal:
        return sum((c.amount for c in self.refunds(payment_reference)), Decimal(0))

    def voided(self, payment_reference: str) -> bool:
        return payment_reference in self._voided

    # -- rules -----------------------------------------------------------------------------------

    def _once(
        self, kind: str, key: str, payment_reference: str, amount: Decimal, currency: str
    ) -> Charge:
        request = (kind, payment_reference, amount, currency)
        answered = self._answers.get(key)
        if answered is not None:
            first_request, answer = answered
            if first_request != request:
                raise RemoteRejected(
                    f"payment: idempotency key {key!r} was used for another request"
                )
            self.stats.duplicates_suppressed += 1
            if isinstance(answer, str):
                raise PaymentDeclined(answer)
            return answer
        if kind == "capture":
            if payment_reference in self._voided:
                raise RemoteRejected(f"payment {payment_reference} was voided; nothing to capture")
            declined = self._decline(payment_reference)
            if declined is not None:
                # a decline is an answer and is kept under the key; a refused request is not
                self._answers[key] = (request, declined)
                raise PaymentDeclined(declined)
            charge = self._capture(payment_reference, amount, currency)
        else:
            charge = self._refund(payment_reference, amount, currency)
        self._answers[key] = (request, charge)
        return charge

    def _void(self, payment_reference: str, key: str) -> None:
        answered = self._answers.get(key)
        if answered is not None:
            raise RemoteRejected(f"payment: idempotency key {key!r} was used for another request")
        if self.captures(payment_reference):
            raise RemoteRejected(
                f"payment {payment_reference} was captured; it can be refunded, not voided"
            )
        if payment_reference in self._voided:
            self.stats.duplicates_suppressed += 1
            return
        self._voided.add(payment_reference)
        self.stats.voids += 1

    def _decline(self, payment_reference: str) -> str | None:
        """Why the capture is declined, or None; decided once per reference."""
        drawn = chance(
            stream(self._seed, "payment", "decline", payment_reference), self._decline_rate
        )
        if payment_reference not in self._declined and not drawn:
            return None
        self.stats.declines += 1
        return f"payment {payment_reference} declined (insufficient funds)"

    def _capture(self, payment_reference: str, amount: Decimal, currency: str) -> Charge:
        charge = Charge(
            charge_id=f"ch_{len(self._captures) + 1:08d}",
            payment_reference=payment_reference,
            amount=amount,
            currency=currency,
        )
        self._captures.append(charge)
        self.stats.captures += 1
        return charge

    def _refund(self, payment_reference: str, amount: Decimal, currency: str) -> Charge:
        captures = self.captures(payment_reference)
        if not captures or any(c.currency != currency for c in captures):
            raise RemoteRejected(f"payment {payment_reference}: nothing captured in {currency}")
        refundable = self.captured(payment_reference) - self.refunded(payment_reference)
        if amount > refundable:
            raise RemoteRejected(
                f"payment {payment_reference}: refund {amount} exceeds refundable {refundable}"
            )
        charge = Charge(
            charge_id=f"re_{len(self._refunds) + 1:08d}",
            payment_reference=payment_reference,
            amount=amount,
            currency=currency,
        )
        self._refunds.append(charge)
        self.stats.refunds += 1
        return charge

"""A simulated commerce platform: order status updates applied once per idempotency key."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.simulators.faults import FaultModel
from ports.commerce import CommerceStatus


@dataclass(slots=True)
class CommerceStats:
    pushes_received: int = 0
    updates_applied: int = 0
    #: pushes whose key was already applied: answered with success, changed nothing
    duplicates_suppressed: int = 0


class SimulatedCommerce:
    """A storefront platform that applies each status update once per idempotency key (a
    repeat of the key succeeds and changes nothing, whatever it carries), and keeps, per
    `(channel, channel_order_ref)`, the latest status it applied and the history of them all,
    in the order they arrived.
    """

    def __init__(self, *, faults: FaultModel | None = None) -> None:
        self._faults = faults or FaultModel()
        self._applied: dict[str, CommerceStatus] = {}
        self._history: dict[tuple[str, str], list[CommerceStatus]] = {}
        self.stats = CommerceStats()

    async def push_status(self, update: CommerceStatus, idempotency_key: str) -> None:
        """Apply the update to the platform's order, once per key."""
        await self._faults.arrive("commerce push_status")
        self.stats.pushes_received += 1
        if idempotency_key in self._applied:
            self.stats.duplicates_suppressed += 1
        else:
            self._applied[idempotency_key] = update
            self._history.setdefault((update.channel, update.channel_order_ref), []).append(update)
            self.stats.updates_applied += 1
        self._faults.respond("commerce push_status")

    def status(self, channel: str, channel_order_ref: str) -> CommerceStatus | None:
        """The latest update applied to the platform's order; None if it never got one."""
        history = self._history.get((channel, channel_order_ref))
        return history[-1] if history else None

    def history(self, channel: str, channel_order_ref: str) -> list[CommerceStatus]:
        return list(self._history.get((channel, channel_order_ref), ()))

    def update(self, idempotency_key: str) -> CommerceStatus | None:
        return self._applied.get(idempotency_key)

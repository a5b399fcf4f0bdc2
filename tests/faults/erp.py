"""The REST ERP the worker talks to during a fault run, served from the test process so that the
test can take it down, poison an order, and count what it booked.

It is the contract fake of `tests/integration/adapters/fake_erp.py` (the first submission of an
order wins, repeats answer the same), plus an off switch and a list of poisoned orders."""

from __future__ import annotations

from tests.integration.adapters.fake_erp import FakeErp
from tests.integration.adapters.scripted import Reply, Seen

ERP_KEY = "faults-erp-key"


class ControllableErp(FakeErp):
    def __init__(self) -> None:
        super().__init__(api_key=ERP_KEY)
        #: While True every request gets 503, as an ERP in maintenance would answer.
        self.down = False
        #: channel_order_refs whose booking the ERP refuses as an invalid document (a 422 that is
        #: not a business rejection): a permanent failure; the hub puts the order on hold.
        self.poisoned: set[str] = set()
        #: order ids whose cancellation the ERP refuses (422): the hub's `OrderCancelled` delivery
        #: to `fulfilment` fails for good and goes to the dead letters.
        self.poisoned_cancellations: set[str] = set()
        self.refused_while_down = 0

    def _handle(self, seen: Seen) -> Reply:
        if self.down:
            self.refused_while_down += 1
            return Reply(503, {"title": "ERP down for maintenance"})
        return super()._handle(seen)

    def put_order(self, seen: Seen, order_id: str) -> Reply:
        body = seen.body if isinstance(seen.body, dict) else {}
        if body.get("channel_order_ref") in self.poisoned:
            return Reply(422, {"title": "invalid order", "detail": "customer account is locked"})
        return super().put_order(seen, order_id)

    def post_cancellation(self, seen: Seen, order_id: str) -> Reply:
        if order_id in self.poisoned_cancellations:
            return Reply(422, {"title": "invalid cancellation", "detail": "order is in picking"})
        return super().post_cancellation(seen, order_id)

    def bookings(self) -> dict[str, str]:
        """order id -> ERP ref, in the order the ERP booked them (each at most once). The server
        thread adds decisions while the test reads them: copy first (one C-level step)."""
        decisions = self.decisions.copy()
        return {oid: r.body["erp_order_ref"] for oid, r in decisions.items() if r.status == 201}

    def submissions(self) -> dict[str, int]:
        """order id -> how many times the hub PUT it (repeats are harmless, counted for the report)."""
        counts: dict[str, int] = {}
        for seen in list(self.requests):
            if seen.method == "PUT" and seen.path.count("/") == 2:
                order_id = seen.path.rsplit("/", 1)[1]
                counts[order_id] = counts.get(order_id, 0) + 1
        return counts

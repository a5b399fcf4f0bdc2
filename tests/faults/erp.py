"""The REST ERP the worker talks to during a fault run, served from the test process so that the
test can take it down, poison an order, and count what it booked.

It is the contract fake of `tests/integration/adapters/fake_erp.py` (the first submission of an
order wins, repeats answer the same), plus an off switch, a list of poisoned orders, and a log of
the changes it was told about (amendments, cancellations, return authorizations), repeats included."""

from __future__ import annotations

from dataclasses import dataclass

from tests.integration.adapters.fake_erp import FakeErp
from tests.integration.adapters.scripted import Reply, Seen

ERP_KEY = "faults-erp-key"


@dataclass(frozen=True, slots=True)
class ErpCall:
    """One change to a booked order that the ERP answered while up, in the order it answered."""

    kind: str  #: `amendment`, `cancellation` or `return`
    order_id: str
    subject: str  #: the order id, or the return id of a return authorization
    status: int

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    @property
    def label(self) -> str:
        return self.kind if self.kind != "return" else f"return {self.subject}"


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
        #: every amendment, cancellation and return authorization answered while up (repeats too)
        self.changes: list[ErpCall] = []

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

    def put_amendment(self, seen: Seen, order_id: str) -> Reply:
        return self._logged("amendment", order_id, order_id, super().put_amendment(seen, order_id))

    def post_cancellation(self, seen: Seen, order_id: str) -> Reply:
        if order_id in self.poisoned_cancellations:
            reply = Reply(422, {"title": "invalid cancellation", "detail": "order is in picking"})
        else:
            reply = super().post_cancellation(seen, order_id)
        return self._logged("cancellation", order_id, order_id, reply)

    def put_return(self, seen: Seen, return_id: str) -> Reply:
        order_id = str(seen.body.get("order_id")) if isinstance(seen.body, dict) else ""
        return self._logged("return", order_id, return_id, super().put_return(seen, return_id))

    def _logged(self, kind: str, order_id: str, subject: str, reply: Reply) -> Reply:
        self.changes.append(ErpCall(kind, order_id, subject, reply.status))
        return reply

    def accepted_changes(self) -> dict[str, list[ErpCall]]:
        """order id -> the changes the ERP accepted (2xx) for it, repeats included, in the order
        it accepted them (a copy: the server thread appends while the test reads)."""
        by_order: dict[str, list[ErpCall]] = {}
        for call in self.changes.copy():
            if call.accepted:
                by_order.setdefault(call.order_id, []).append(call)
        return by_order

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

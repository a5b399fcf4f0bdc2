"""A simulated warehouse: ships what the ERP booked and receives returns, reporting both late."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from adapters.simulators.agenda import Agenda, Redelivery
from adapters.simulators.chance import between, chance, stream
from adapters.simulators.erp import Booking, ReturnAuthorization, SimulatedErp
from adapters.simulators.inbound import WAREHOUSE, Inbound, inbound_event, stable_id

_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class WarehouseBehaviour:
    """How the simulated warehouse works. Delays are (low, high) ranges drawn per order or
    return from the seeded stream; rates are shares of orders, returns or events."""

    #: where lines without a location in the ErpOrder ship from
    default_location: str = "dc-east"
    carriers: tuple[str, ...] = ("DHL", "UPS", "FedEx")
    #: booking → first shipment dispatched
    pick_delay: tuple[timedelta, timedelta] = (timedelta(minutes=30), 4 * _HOUR)
    #: share of (location) consignments of two units or more shipped as two parcels
    split_rate: float = 0.0
    #: first parcel → second parcel of a split consignment, or the next location's parcel
    split_gap: tuple[timedelta, timedelta] = (_HOUR, _DAY)
    #: dispatched → delivered
    transit: tuple[timedelta, timedelta] = (6 * _HOUR, 3 * _DAY)
    #: share of event pairs (dispatched/delivered, received/inspected) reported in reverse order
    out_of_order_rate: float = 0.0
    #: how long after the later event the held-back earlier one arrives
    out_of_order_lag: tuple[timedelta, timedelta] = (timedelta(seconds=30), timedelta(minutes=10))
    redelivery: Redelivery = field(default_factory=Redelivery)
    #: return authorized → parcel received back
    return_transit: tuple[timedelta, timedelta] = (_DAY, 5 * _DAY)
    #: received → inspected
    inspection_delay: tuple[timedelta, timedelta] = (2 * _HOUR, 2 * _DAY)
    #: share of returns where one unit of a multi-unit line never comes back
    short_receipt_rate: float = 0.0
    dispositions: tuple[tuple[str, float], ...] = (
        ("restock", 0.7),
        ("refurbish", 0.2),
        ("scrap", 0.1),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class WarehouseShipment:
    shipment_id: UUID
    order_id: UUID
    location: str
    carrier: str
    tracking_number: str
    lines: tuple[tuple[str, int], ...]
    dispatched_at: datetime
    delivered_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnReceipt:
    return_id: UUID
    lines: tuple[tuple[str, int], ...]
    received_at: datetime
    dispositions: tuple[tuple[str, str], ...]
    inspected_at: datetime


@dataclass(slots=True)
class WarehouseStats:
    orders_shipped: int = 0
    #: booked orders the ERP cancelled before the warehouse picked them
    orders_cancelled_before_pick: int = 0
    shipments: int = 0
    #: orders whose units left in more than one parcel because of `split_rate`
    orders_split: int = 0
    returns_received: int = 0
    #: event pairs reported in reverse order
    pairs_reordered: int = 0


class SimulatedWarehouse:
    """A warehouse that ships every order the ERP booked and did not cancel, exactly the units
    it was booked (or last amended) with, never more, from the ErpOrder lines' locations, and
    receives and inspects every return the ERP authorized.

    It reports to the hub through `due_events(now)`: `shipment.dispatched` and
    `shipment.delivered` for each parcel, `return.received` and `return.inspected` for each
    return, and `stock.*` when told to, each event as `(source, body)` in the §5 inbound shape.
    What happens to an order (delays, split into parcels, carrier, tracking number, reordered or
    duplicated reports) depends only on the seed and the order id, not on how other orders
    interleave or how often the clock is polled. A duplicate reuses the event id.
    """

    def __init__(
        self,
        erp: SimulatedErp,
        *,
        seed: int = 0,
        behaviour: WarehouseBehaviour = WarehouseBehaviour(),
    ) -> None:
        self._erp = erp
        self._seed = seed
        self._behaviour = behaviour
        self._picks = Agenda()
        self._agenda = Agenda()
        self._bookings_seen = 0
        self._returns_seen = 0
        self._shipments: dict[UUID, list[WarehouseShipment]] = {}
        self._receipts: dict[UUID, ReturnReceipt] = {}
        self._stock_reports: dict[tuple[str, str, str], int] = {}
        self.stats = WarehouseStats()
        erp.before_order_change(self._catch_up)

    # -- reporting -------------------------------------------------------------------------------

    def due_events(self, now: datetime) -> list[Inbound]:
        """Every event due by `now`, in time order; each comes out once (a duplicate is a
        second, later delivery of the same event)."""
        self._catch_up(now)
        return self._agenda.release(now)

    def next_due(self) -> datetime | None:
        """When the next event is due (or the next order is picked); None when idle."""
        self._take_new_work()
        due = [at for at in (self._picks.next_due(), self._agenda.next_due()) if at is not None]
        return min(due, default=None)

    @property
    def duplicates_scheduled(self) -> int:
        return self._agenda.copies

    # -- what the warehouse did ------------------------------------------------------------------

    def shipments(self, order_id: UUID) -> list[WarehouseShipment]:
        """The order's parcels, once it is picked (including parcels dispatched later)."""
        return list(self._shipments.get(order_id, ()))

    def shipped_quantities(self, order_id: UUID) -> dict[str, int]:
        shipped: dict[str, int] = {}
        for shipment in self._shipments.get(order_id, ()):
            for sku, quantity in shipment.lines:
                shipped[sku] = shipped.get(sku, 0) + quantity
        return shipped

    def receipt(self, return_id: UUID) -> ReturnReceipt | None:
        return self._receipts.get(return_id)

    # -- stock -----------------------------------------------------------------------------------

    def adjust_stock(
        self, sku: str, location: str, delta: int, *, at: datetime, reason: str = "adjustment"
    ) -> None:
        """Report a stock delta (goods in, shrinkage) as a `stock.adjusted` event due at `at`."""
        n = self._next_stock_report("stock.adjusted", sku, location)
        event = inbound_event(
            event_id=stable_id(self._seed, WAREHOUSE, "stock.adjusted", sku, location, n),
            type="stock.adjusted",
            occurred_at=at,
            data={"sku": sku, "location": location, "delta": delta, "reason": reason},
        )
        self._agenda.post(at, WAREHOUSE, event)

    def report_stock(self, sku: str, location: str, on_hand: int, *, at: datetime) -> None:
        """Report a count as a `stock.snapshot` event due at `at`, with the next sequence."""
        sequence = self._next_stock_report("stock.snapshot", sku, location)
        event = inbound_event(
            event_id=stable_id(self._seed, WAREHOUSE, "stock.snapshot", sku, location, sequence),
            type="stock.snapshot",
            occurred_at=at,
            data={"sku": sku, "location": location, "on_hand": on_hand, "sequence": sequence},
        )
        self._agenda.post(at, WAREHOUSE, event)

    # -- work ------------------------------------------------------------------------------------

    def _catch_up(self, now: datetime) -> None:
        """Pick every order due by `now`, so what the warehouse did by then does not depend on
        how often it was polled (the ERP calls this before it accepts a change to an order)."""
        self._take_new_work()
        self._picks.release(now)

    def _take_new_work(self) -> None:
        for booking in self._erp.bookings(self._bookings_seen):
            self._bookings_seen += 1
            rng = stream(self._seed, WAREHOUSE, "order", booking.order_id)
            pick_at = booking.booked_at + between(rng, *self._behaviour.pick_delay)
            self._picks.run_at(pick_at, partial(self._pick, booking, pick_at, rng))
        for authorization in self._erp.return_authorizations(self._returns_seen):
            self._returns_seen += 1
            self._plan_return(authorization)

    def _pick(self, booking: Booking, at: datetime, rng: random.Random) -> None:
        """Pick the order as the ERP now has it; cancelled orders stay on the shelf."""
        if self._erp.is_cancelled(booking.order_id):
            self.stats.orders_cancelled_before_pick += 1
            return
        parcels = self._parcels(booking.order_id, rng)
        if not parcels:
            return
        self._erp.mark_dispatched(booking.order_id, at)
        self.stats.orders_shipped += 1
        dispatched_at = at
        for number, (location, lines) in enumerate(parcels, start=1):
            if number > 1:
                dispatched_at += between(rng, *self._behaviour.split_gap)
            self._ship(booking.order_id, number, location, lines, dispatched_at, rng)

    def _parcels(self, order_id: UUID, rng: random.Random) -> list[tuple[str, dict[str, int]]]:
        """The order's units by location, each consignment maybe split in two; exactly the
        ordered quantities in all."""
        consignments: dict[str, dict[str, int]] = {}
        for line in self._erp.order(order_id).lines:
            if line.quantity > 0:
                units = consignments.setdefault(
                    line.location or self._behaviour.default_location, {}
                )
                units[line.sku] = units.get(line.sku, 0) + line.quantity
        parcels: list[tuple[str, dict[str, int]]] = []
        split = False
        for location, units in consignments.items():
            total = sum(units.values())
            if total >= 2 and chance(rng, self._behaviour.split_rate):
                first, second = _split(units, 1 + int(rng.random() * (total - 1)))
                parcels += [(location, first), (location, second)]
                split = True
            else:
                parcels.append((location, units))
        self.stats.orders_split += split
        return parcels

    def _ship(
        self,
        order_id: UUID,
        number: int,
        location: str,
        units: dict[str, int],
        dispatched_at: datetime,
        rng: random.Random,
    ) -> None:
        carrier = rng.choice(self._behaviour.carriers)
        shipment = WarehouseShipment(
            shipment_id=stable_id(self._seed, WAREHOUSE, "shipment", order_id, number),
            order_id=order_id,
            location=location,
            carrier=carrier,
            tracking_number=_tracking_number(carrier, rng),
            lines=tuple(units.items()),
            dispatched_at=dispatched_at,
            delivered_at=dispatched_at + between(rng, *self._behaviour.transit),
        )
        self._shipments.setdefault(order_id, []).append(shipment)
        self.stats.shipments += 1
        ids = {"order_id": str(order_id), "shipment_id": str(shipment.shipment_id)}
        dispatched = self._event(
            "shipment.dispatched",
            shipment.shipment_id,
            dispatched_at,
            {
                **ids,
                "location": location,
                "carrier": carrier,
                "tracking_number": shipment.tracking_number,
                "lines": _sku_lines(shipment.lines, "quantity"),
            },
        )
        delivered = self._event(
            "shipment.delivered", shipment.shipment_id, shipment.delivered_at, ids
        )
        self._report_pair(rng, (dispatched_at, dispatched), (shipment.delivered_at, delivered))

    def _plan_return(self, authorization: ReturnAuthorization) -> None:
        ret = authorization.ret
        rng = stream(self._seed, WAREHOUSE, "return", ret.return_id)
        received_at = authorization.authorized_at + between(rng, *self._behaviour.return_transit)
        units: dict[str, int] = {}
        for line in ret.lines:
            units[line.sku] = units.get(line.sku, 0) + line.quantity
        if chance(rng, self._behaviour.short_receipt_rate):
            short = next((sku for sku, quantity in units.items() if quantity >= 2), None)
            if short is not None:
                units[short] -= 1
        inspected_at = received_at + between(rng, *self._behaviour.inspection_delay)
        names = [name for name, _ in self._behaviour.dispositions]
        weights = [weight for _, weight in self._behaviour.dispositions]
        dispositions = {sku: rng.choices(names, weights)[0] for sku in units}
        receipt = ReturnReceipt(
            return_id=ret.return_id,
            lines=tuple(units.items()),
            received_at=received_at,
            dispositions=tuple(dispositions.items()),
            inspected_at=inspected_at,
        )
        self._receipts[ret.return_id] = receipt
        self.stats.returns_received += 1
        return_id = {"return_id": str(ret.return_id)}
        received = self._event(
            "return.received",
            ret.return_id,
            received_at,
            {**return_id, "lines": _sku_lines(receipt.lines, "quantity")},
        )
        inspected = self._event(
            "return.inspected",
            ret.return_id,
            inspected_at,
            {**return_id, "lines": _sku_lines(receipt.dispositions, "disposition")},
        )
        self._report_pair(rng, (received_at, received), (inspected_at, inspected))

    def _report_pair(
        self,
        rng: random.Random,
        earlier: tuple[datetime, dict[str, Any]],
        later: tuple[datetime, dict[str, Any]],
    ) -> None:
        """Report two events that happened in this order; sometimes the earlier one is held
        back until after the later one (its `occurred_at` still tells the truth)."""
        (earlier_at, earlier_event), (later_at, later_event) = earlier, later
        if chance(rng, self._behaviour.out_of_order_rate):
            earlier_at = later_at + between(rng, *self._behaviour.out_of_order_lag)
            self.stats.pairs_reordered += 1
        redelivery = self._behaviour.redelivery
        self._agenda.post(
            earlier_at, WAREHOUSE, earlier_event, again_after=redelivery.copy_after(rng)
        )
        self._agenda.post(later_at, WAREHOUSE, later_event, again_after=redelivery.copy_after(rng))

    def _event(
        self, kind: str, subject: UUID, occurred_at: datetime, data: dict[str, Any]
    ) -> dict[str, Any]:
        return inbound_event(
            event_id=stable_id(self._seed, WAREHOUSE, kind, subject),
            type=kind,
            occurred_at=occurred_at,
            data=data,
        )

    def _next_stock_report(self, kind: str, sku: str, location: str) -> int:
        key = (kind, sku, location)
        self._stock_reports[key] = self._stock_reports.get(key, 0) + 1
        return self._stock_reports[key]


def _split(units: dict[str, int], cut: int) -> tuple[dict[str, int], dict[str, int]]:
    """The first `cut` units (in line order) and the rest."""
    first: dict[str, int] = {}
    rest: dict[str, int] = {}
    for sku, quantity in units.items():
        taken = min(quantity, cut)
        cut -= taken
        if taken:
            first[sku] = taken
        if quantity - taken:
            rest[sku] = quantity - taken
    return first, rest


def _sku_lines(lines: tuple[tuple[str, Any], ...], key: str) -> list[dict[str, Any]]:
    return [{"sku": sku, key: value} for sku, value in lines]


def _tracking_number(carrier: str, rng: random.Random) -> str:
    """A tracking number in the carrier's usual format."""
    digits = string.digits
    match carrier:
        case "UPS":
            return "1Z" + "".join(rng.choices(string.ascii_uppercase + digits, k=16))
        case "DHL":
            return "".join(rng.choices(digits, k=10))
        case "FedEx":
            return "".join(rng.choices(digits, k=12))
        case _:
            return carrier[:3].upper() + "".join(rng.choices(digits, k=12))

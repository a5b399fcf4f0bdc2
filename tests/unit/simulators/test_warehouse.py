"""The simulated warehouse: ships what the ERP booked, reports late, sometimes twice or reversed."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.clock import FixedClock
from adapters.simulators.agenda import Redelivery
from adapters.simulators.erp import ErpBehaviour, SimulatedErp
from adapters.simulators.warehouse import SimulatedWarehouse, WarehouseBehaviour
from ports.erp import ErpOrder
from ports.remote import RemoteRejected
from tests.unit.simulators.worlds import START, a_return, an_order, has_the_inbound_shape

LATER = START + timedelta(days=30)
SKUS = ("MUG", "TEE", "CAP", "SOCK")
ROUGH = WarehouseBehaviour(split_rate=0.5, out_of_order_rate=0.2, redelivery=Redelivery(rate=0.2))


class World:
    """An ERP and its warehouse on a fixed clock."""

    def __init__(self, seed: int = 1, behaviour: WarehouseBehaviour = ROUGH) -> None:
        self.clock = FixedClock(START)
        self.erp = SimulatedErp(
            clock=self.clock, seed=seed, behaviour=ErpBehaviour(announce_bookings=False)
        )
        self.warehouse = SimulatedWarehouse(self.erp, seed=seed, behaviour=behaviour)

    async def book(self, *orders: ErpOrder, every: timedelta = timedelta(minutes=7)) -> list[str]:
        refs = []
        for order in orders:
            decision = await self.erp.submit_order(order)
            assert decision.erp_order_ref is not None
            refs.append(decision.erp_order_ref)
            self.clock.advance(every)
        return refs

    def drain(self, until: datetime = LATER) -> list[dict[str, Any]]:
        released = self.warehouse.due_events(until)
        assert {source for source, _ in released} <= {"warehouse"}
        return [event for _, event in released]


def some_orders(count: int) -> list[ErpOrder]:
    return [
        an_order(n, {sku: 1 + (n * 7 + i) % 4 for i, sku in enumerate(SKUS[: 1 + n % 4])})
        for n in range(count)
    ]


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [event for event in events if event["type"] == kind]


def distinct(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list({event["event_id"]: event for event in events}.values())


def shipped(events: list[dict[str, Any]], order: ErpOrder) -> Counter[str]:
    total: Counter[str] = Counter()
    for event in distinct(of_type(events, "shipment.dispatched")):
        if event["data"]["order_id"] == str(order.order_id):
            total.update({ln["sku"]: ln["quantity"] for ln in event["data"]["lines"]})
    return total


def ordered(order: ErpOrder) -> Counter[str]:
    return Counter({ln.sku: ln.quantity for ln in order.lines})


async def test_every_booked_order_is_dispatched_and_delivered_in_full() -> None:
    world = World()
    orders = some_orders(60)
    await world.book(*orders)
    events = world.drain()

    for order in orders:
        mine = [e for e in distinct(events) if e["data"]["order_id"] == str(order.order_id)]
        dispatched = {e["data"]["shipment_id"] for e in of_type(mine, "shipment.dispatched")}
        delivered = {e["data"]["shipment_id"] for e in of_type(mine, "shipment.delivered")}
        assert dispatched, order.channel_order_ref
        assert dispatched == delivered
        assert shipped(events, order) == ordered(order)
    assert world.warehouse.stats.orders_shipped == 60
    assert world.warehouse.next_due() is None


@settings(max_examples=60, deadline=None)
@given(
    lines=st.dictionaries(st.sampled_from(SKUS), st.integers(1, 9), min_size=1),
    split_rate=st.sampled_from([0.0, 0.5, 1.0]),
    seed=st.integers(0, 10_000),
)
async def test_the_warehouse_never_ships_more_than_ordered(
    lines: dict[str, int], split_rate: float, seed: int
) -> None:
    world = World(seed, WarehouseBehaviour(split_rate=split_rate, redelivery=Redelivery(rate=0.5)))
    order = an_order(seed, lines)
    await world.book(order)
    events = world.drain()
    assert shipped(events, order) == ordered(order)
    assert world.warehouse.shipped_quantities(order.order_id) == dict(ordered(order))
    assert all(q >= 1 for e in of_type(events, "shipment.dispatched") for q in _quantities(e))


def _quantities(event: dict[str, Any]) -> list[int]:
    return [ln["quantity"] for ln in event["data"]["lines"]]


async def test_the_same_seed_gives_identical_event_streams() -> None:
    streams = []
    for _ in range(2):
        world = World(seed=77)
        await world.book(*some_orders(30))
        streams.append(world.drain())
    assert streams[0] == streams[1]
    assert len(streams[0]) > 60


async def test_another_seed_gives_another_stream() -> None:
    streams = []
    for seed in (77, 78):
        world = World(seed=seed)
        await world.book(*some_orders(30))
        streams.append(world.drain())
    assert streams[0] != streams[1]


async def test_what_happens_to_an_order_does_not_depend_on_how_often_the_clock_is_polled() -> None:
    polled, drained_once = World(seed=5), World(seed=5)
    orders = some_orders(20)
    every_ten_minutes = []
    for order in orders:
        await polled.book(order)
        every_ten_minutes += polled.drain(polled.clock.now())
    at_the_end = polled.drain()
    await drained_once.book(*orders)

    assert every_ten_minutes + at_the_end == drained_once.drain()


async def test_what_happens_to_an_order_does_not_depend_on_the_other_orders() -> None:
    alone, crowded = World(seed=5), World(seed=5)
    order = an_order(1, {"MUG": 3, "TEE": 2})
    await alone.book(order)
    await crowded.book(*some_orders(10)[2:], order)
    alone_events = alone.drain()
    crowded_events = [e for e in crowded.drain() if e["data"]["order_id"] == str(order.order_id)]
    assert [e["data"] for e in alone_events] == [e["data"] for e in crowded_events]
    assert [e["event_id"] for e in alone_events] == [e["event_id"] for e in crowded_events]


async def test_every_event_has_the_inbound_shape() -> None:
    world = World()
    await world.book(*some_orders(10))
    events = world.drain()
    assert events
    for event in events:
        assert has_the_inbound_shape(event)
        assert event["occurred_at"].endswith("Z")
        datetime.fromisoformat(event["occurred_at"])
        UUID(event["event_id"])
        UUID(event["data"]["shipment_id"])


async def test_duplicates_reuse_the_event_id_and_say_the_same() -> None:
    world = World(behaviour=WarehouseBehaviour(redelivery=Redelivery(rate=1.0)))
    await world.book(*some_orders(5))
    events = world.drain()
    copies = Counter(event["event_id"] for event in events)
    assert set(copies.values()) == {2}
    by_id: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_id.setdefault(event["event_id"], []).append(event)
    assert all(first == second for first, second in by_id.values())
    assert world.warehouse.duplicates_scheduled == len(by_id)


async def test_some_events_come_twice_at_the_seeded_rate() -> None:
    world = World(behaviour=WarehouseBehaviour(redelivery=Redelivery(rate=0.25)))
    await world.book(*some_orders(100))
    events = world.drain()
    originals = len(distinct(events))
    duplicates = len(events) - originals
    assert duplicates == world.warehouse.duplicates_scheduled
    # 200+ events at 25 %: σ ≈ 6.1 for 200; ±5σ around the expected share
    assert abs(duplicates - originals / 4) <= 5 * (originals * 0.25 * 0.75) ** 0.5


async def test_out_of_order_delivery_reports_the_later_event_first_with_true_times() -> None:
    world = World(behaviour=WarehouseBehaviour(out_of_order_rate=1.0))
    await world.book(*some_orders(10))
    events = world.drain()
    position = {(e["type"], e["data"]["shipment_id"]): i for i, e in enumerate(events)}
    times = {(e["type"], e["data"]["shipment_id"]): e["occurred_at"] for e in events}
    shipments = {e["data"]["shipment_id"] for e in events}
    for shipment in shipments:
        dispatched, delivered = ("shipment.dispatched", shipment), ("shipment.delivered", shipment)
        assert position[delivered] < position[dispatched]
        assert times[dispatched] < times[delivered]
    assert world.warehouse.stats.pairs_reordered == len(shipments)


async def test_lines_ship_from_their_location_and_the_rest_from_the_default() -> None:
    world = World(behaviour=WarehouseBehaviour(default_location="dc-main"))
    order = an_order(
        1, {"MUG": 2, "TEE": 1, "CAP": 1}, locations={"MUG": "store-12", "CAP": "dc-west"}
    )
    await world.book(order)
    dispatched = of_type(world.drain(), "shipment.dispatched")
    by_location = {e["data"]["location"]: e["data"]["lines"] for e in dispatched}
    assert by_location == {
        "store-12": [{"sku": "MUG", "quantity": 2}],
        "dc-main": [{"sku": "TEE", "quantity": 1}],
        "dc-west": [{"sku": "CAP", "quantity": 1}],
    }


async def test_a_split_order_leaves_in_two_parcels_the_second_later() -> None:
    world = World(behaviour=WarehouseBehaviour(split_rate=1.0))
    order = an_order(1, {"MUG": 3, "TEE": 2})
    await world.book(order)
    dispatched = of_type(world.drain(), "shipment.dispatched")
    assert len(dispatched) == 2
    assert dispatched[0]["occurred_at"] < dispatched[1]["occurred_at"]
    assert dispatched[0]["data"]["shipment_id"] != dispatched[1]["data"]["shipment_id"]
    assert shipped(dispatched, order) == ordered(order)
    assert world.warehouse.stats.orders_split == 1


async def test_a_single_unit_is_never_split() -> None:
    world = World(behaviour=WarehouseBehaviour(split_rate=1.0))
    await world.book(an_order(1, {"MUG": 1}))
    assert len(of_type(world.drain(), "shipment.dispatched")) == 1


async def test_parcels_carry_a_carrier_and_a_tracking_number_in_its_format() -> None:
    world = World()
    await world.book(*some_orders(30))
    for event in of_type(world.drain(), "shipment.dispatched"):
        carrier, tracking = event["data"]["carrier"], event["data"]["tracking_number"]
        assert carrier in {"DHL", "UPS", "FedEx"}
        expected = {"DHL": 10, "UPS": 18, "FedEx": 12}[carrier]
        assert len(tracking) == expected
        assert tracking.startswith("1Z") == (carrier == "UPS")


async def test_nothing_ships_before_it_is_picked() -> None:
    world = World(behaviour=WarehouseBehaviour(pick_delay=(timedelta(hours=2), timedelta(hours=2))))
    await world.book(an_order(1))
    assert world.drain(START + timedelta(hours=1, minutes=59)) == []
    [dispatched] = world.drain(START + timedelta(hours=2))
    assert dispatched["type"] == "shipment.dispatched"
    assert dispatched["occurred_at"] == "2026-11-02T11:00:00Z"


async def test_an_order_cancelled_before_it_is_picked_stays_on_the_shelf() -> None:
    world = World()
    order = an_order(1)
    [ref] = await world.book(order)
    await world.erp.cancel_order(order.order_id, ref, "changed my mind")
    assert world.drain() == []
    assert world.warehouse.stats.orders_cancelled_before_pick == 1


async def test_an_order_amended_before_it_is_picked_ships_as_amended() -> None:
    world = World()
    [ref] = await world.book(an_order(1, {"MUG": 3, "TEE": 1}))
    await world.erp.amend_order(an_order(1, {"MUG": 1}), ref)
    events = world.drain()
    assert shipped(events, an_order(1)) == Counter({"MUG": 1})


async def test_a_cancellation_after_the_pick_is_refused_however_rarely_the_clock_is_polled() -> (
    None
):
    world = World(behaviour=WarehouseBehaviour(pick_delay=(timedelta(hours=1), timedelta(hours=1))))
    order = an_order(1)
    [ref] = await world.book(order, every=timedelta(hours=3))  # nobody polled in between
    with pytest.raises(RemoteRejected, match="shipped"):
        await world.erp.cancel_order(order.order_id, ref, "too late")
    assert shipped(world.drain(), order) == ordered(order)


async def test_an_authorized_return_is_received_then_inspected() -> None:
    world = World(behaviour=WarehouseBehaviour())
    order = an_order(1, {"MUG": 3, "TEE": 1})
    [ref] = await world.book(order)
    ret = a_return(order, ref, MUG=2)
    await world.erp.authorize_return(ret)

    returned = [e for e in world.drain() if e["type"].startswith("return.")]
    assert [e["type"] for e in returned] == ["return.received", "return.inspected"]
    received, inspected = returned
    assert received["data"] == {
        "return_id": str(ret.return_id),
        "lines": [{"sku": "MUG", "quantity": 2}],
    }
    [line] = inspected["data"]["lines"]
    assert line["sku"] == "MUG"
    assert line["disposition"] in {"restock", "refurbish", "scrap"}
    assert all(has_the_inbound_shape(e) for e in returned)
    assert received["occurred_at"] < inspected["occurred_at"]


async def test_dispositions_follow_the_configured_weights() -> None:
    world = World(behaviour=WarehouseBehaviour(dispositions=(("scrap", 1.0),)))
    order = an_order(1, {"MUG": 1, "TEE": 1})
    [ref] = await world.book(order)
    await world.erp.authorize_return(a_return(order, ref))
    [inspected] = of_type(world.drain(), "return.inspected")
    assert {ln["disposition"] for ln in inspected["data"]["lines"]} == {"scrap"}


async def test_a_short_receipt_misses_one_unit_of_a_multi_unit_line() -> None:
    world = World(behaviour=WarehouseBehaviour(short_receipt_rate=1.0))
    order = an_order(1, {"MUG": 3})
    [ref] = await world.book(order)
    await world.erp.authorize_return(a_return(order, ref))
    [received] = of_type(world.drain(), "return.received")
    assert received["data"]["lines"] == [{"sku": "MUG", "quantity": 2}]


async def test_stock_reports_carry_increasing_sequences_and_stable_ids() -> None:
    world = World()
    world.warehouse.report_stock("MUG", "dc-east", 10, at=START)
    world.warehouse.report_stock("MUG", "dc-east", 8, at=START + timedelta(minutes=1))
    world.warehouse.adjust_stock(
        "MUG", "dc-east", 5, at=START + timedelta(minutes=2), reason="goods in"
    )
    first, second, adjusted = world.drain()
    assert [first["data"]["sequence"], second["data"]["sequence"]] == [1, 2]
    assert first["event_id"] != second["event_id"]
    assert adjusted["data"] == {
        "sku": "MUG",
        "location": "dc-east",
        "delta": 5,
        "reason": "goods in",
    }
    assert all(has_the_inbound_shape(e) for e in (first, second, adjusted))

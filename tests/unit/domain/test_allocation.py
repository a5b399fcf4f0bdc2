"""Allocation fills lines from locations in priority order, splitting them, and names shortages."""

from __future__ import annotations

from domain.allocation import LocationPriority, plan_allocation
from domain.errors import Shortage
from domain.inventory import StockKey, StockLevel
from tests.unit.domain.builders import PRIORITY, levels, line, place, stock_state


def test_the_priority_setting_is_read_in_order_ignoring_blanks_and_spaces() -> None:
    priority = LocationPriority.parse(" dc-east, dc-west,, store-12 ,")

    assert priority.order == ("dc-east", "dc-west", "store-12")


def test_an_empty_priority_setting_lists_no_location() -> None:
    assert LocationPriority.parse("").order == ()


def test_listed_locations_come_first_in_their_listed_order() -> None:
    priority = LocationPriority(("dc-west", "dc-east"))

    assert priority.sort(["dc-east", "dc-west"]) == ["dc-west", "dc-east"]


def test_unlisted_locations_come_after_the_listed_ones_by_name() -> None:
    priority = LocationPriority(("dc-west",))

    assert priority.sort(["store-2", "dc-east", "dc-west", "a-hub"]) == [
        "dc-west",
        "a-hub",
        "dc-east",
        "store-2",
    ]


def test_a_line_is_filled_from_the_first_location_in_priority_order() -> None:
    stock = levels(("MUG", "dc-east", 10), ("MUG", "dc-west", 10))

    east_first = plan_allocation([("MUG", 3)], stock, LocationPriority(("dc-east", "dc-west")))
    west_first = plan_allocation([("MUG", 3)], stock, LocationPriority(("dc-west", "dc-east")))

    assert east_first.picks == ((StockKey("MUG", "dc-east"), 3),)
    assert west_first.picks == ((StockKey("MUG", "dc-west"), 3),)
    assert east_first.is_complete


def test_a_line_is_split_across_locations_when_the_first_has_too_little() -> None:
    stock = levels(("MUG", "dc-east", 2), ("MUG", "dc-west", 5), ("MUG", "store-1", 5))

    plan = plan_allocation([("MUG", 4)], stock, PRIORITY)

    assert plan.picks == ((StockKey("MUG", "dc-east"), 2), (StockKey("MUG", "dc-west"), 2))
    assert plan.shortages == ()


def test_unlisted_locations_are_used_after_the_listed_ones() -> None:
    stock = levels(("MUG", "store-9", 5), ("MUG", "dc-west", 1), ("MUG", "store-1", 5))

    plan = plan_allocation([("MUG", 3)], stock, PRIORITY)

    assert plan.picks == ((StockKey("MUG", "dc-west"), 1), (StockKey("MUG", "store-1"), 2))


def test_only_available_units_are_allocated() -> None:
    stock = levels(("MUG", "dc-west", 5))
    stock[StockKey("MUG", "dc-east")] = StockLevel("MUG", "dc-east", on_hand=5, reserved=4)

    plan = plan_allocation([("MUG", 3)], stock, PRIORITY)

    assert plan.picks == ((StockKey("MUG", "dc-east"), 1), (StockKey("MUG", "dc-west"), 2))


def test_a_shortage_reports_the_requested_and_the_available_units() -> None:
    stock = levels(("MUG", "dc-east", 2), ("MUG", "dc-west", 1))

    plan = plan_allocation([("MUG", 5)], stock, PRIORITY)

    assert plan.picks == ((StockKey("MUG", "dc-east"), 2), (StockKey("MUG", "dc-west"), 1))
    assert plan.shortages == (Shortage("MUG", requested=5, available=3),)
    assert not plan.is_complete


def test_a_sku_with_no_stock_anywhere_is_a_shortage_of_everything() -> None:
    stock = levels(("MUG", "dc-east", 5))

    plan = plan_allocation([("MUG", 1), ("BOWL", 2)], stock, PRIORITY)

    assert plan.picks == ((StockKey("MUG", "dc-east"), 1),)
    assert plan.shortages == (Shortage("BOWL", requested=2, available=0),)


def test_each_sku_is_allocated_only_from_its_own_stock() -> None:
    stock = levels(("MUG", "dc-east", 1), ("BOWL", "dc-east", 3))

    plan = plan_allocation([("MUG", 1), ("BOWL", 3)], stock, PRIORITY)

    assert plan.picks == ((StockKey("MUG", "dc-east"), 1), (StockKey("BOWL", "dc-east"), 3))


def test_planning_reserves_nothing() -> None:
    stock = levels(("MUG", "dc-east", 2), ("MUG", "dc-west", 5))
    before = stock_state(stock)

    plan_allocation([("MUG", 4)], stock, PRIORITY)

    assert stock_state(stock) == before


def test_an_order_reserves_its_lines_in_location_priority_order() -> None:
    stock = levels(("MUG", "dc-west", 5), ("MUG", "dc-east", 2))

    order = place(line("MUG", 4), stock=stock)

    assert [(r.location, r.quantity) for r in order.reservations] == [
        ("dc-east", 2),
        ("dc-west", 2),
    ]
    assert [lv.reserved for lv in stock.values()] == [2, 2]

"""Stock levels take warehouse facts as they come and never reserve more than is available."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import ValidationFailed
from domain.events import StockAdjusted, StockShortfallDetected, StockSnapshotApplied
from domain.inventory import Movement, StockLevel, StockMovement
from tests.unit.domain.builders import event_types, issue_fields


def mug(on_hand: int = 0, reserved: int = 0, last_sequence: int | None = None) -> StockLevel:
    return StockLevel(
        "MUG", "dc-east", on_hand=on_hand, reserved=reserved, last_sequence=last_sequence
    )


def reserve(level: StockLevel, quantity: int) -> None:
    level.apply(StockMovement(level.key, Movement.RESERVE, quantity))


# -- snapshots -------------------------------------------------------------------------------


def test_a_snapshot_sets_on_hand_and_remembers_its_sequence() -> None:
    level = mug(on_hand=3, reserved=2)

    applied = level.apply_snapshot(on_hand=10, sequence=5)

    assert applied
    assert (level.on_hand, level.reserved, level.available, level.last_sequence) == (10, 2, 8, 5)
    assert level.events == [
        StockSnapshotApplied(
            sku="MUG", location="dc-east", on_hand=10, previous_on_hand=3, sequence=5, available=8
        )
    ]
    assert level.version == 1


def test_the_first_snapshot_applies_whatever_its_sequence() -> None:
    level = mug()

    assert level.apply_snapshot(on_hand=4, sequence=0)
    assert level.on_hand == 4


@pytest.mark.parametrize("sequence", [4, 5])
def test_a_snapshot_not_newer_than_the_last_one_is_ignored(sequence: int) -> None:
    level = mug(on_hand=10, last_sequence=5)

    applied = level.apply_snapshot(on_hand=1, sequence=sequence)

    assert not applied
    assert (level.on_hand, level.last_sequence, level.version, level.events) == (10, 5, 0, [])


def test_snapshots_arriving_out_of_order_keep_the_newest_count() -> None:
    level = mug()

    level.apply_snapshot(on_hand=7, sequence=2)
    level.apply_snapshot(on_hand=3, sequence=1)

    assert (level.on_hand, level.last_sequence) == (7, 2)
    assert event_types(level) == ["StockSnapshotApplied"]


def test_a_negative_snapshot_is_refused() -> None:
    level = mug(on_hand=2)

    with pytest.raises(ValidationFailed) as refused:
        level.apply_snapshot(on_hand=-1, sequence=1)

    assert issue_fields(refused.value) == ["on_hand"]
    assert (level.on_hand, level.last_sequence, level.events) == (2, None, [])


# -- adjustments -----------------------------------------------------------------------------


def test_an_adjustment_is_a_delta_on_what_is_on_hand() -> None:
    level = mug(on_hand=5, reserved=1)

    level.adjust(3, "found in aisle 4")
    level.adjust(-2, "damaged")

    assert (level.on_hand, level.available) == (6, 5)
    assert level.events == [
        StockAdjusted(
            sku="MUG",
            location="dc-east",
            delta=3,
            applied_delta=3,
            on_hand=8,
            reason="found in aisle 4",
            available=7,
        ),
        StockAdjusted(
            sku="MUG",
            location="dc-east",
            delta=-2,
            applied_delta=-2,
            on_hand=6,
            reason="damaged",
            available=5,
        ),
    ]
    assert level.version == 2


def test_an_adjustment_below_zero_stops_on_hand_at_zero_and_says_what_was_applied() -> None:
    level = mug(on_hand=4)

    level.adjust(-10, "flood")

    assert level.on_hand == 0
    assert level.events == [
        StockAdjusted(
            sku="MUG",
            location="dc-east",
            delta=-10,
            applied_delta=-4,
            on_hand=0,
            reason="flood",
            available=0,
        )
    ]


def test_an_adjustment_ignores_the_snapshot_sequence() -> None:
    level = mug(on_hand=4, last_sequence=9)

    level.adjust(2, "delivery")

    assert (level.on_hand, level.last_sequence) == (6, 9)


def test_a_zero_adjustment_is_refused() -> None:
    level = mug(on_hand=4)

    with pytest.raises(ValidationFailed) as refused:
        level.adjust(0, "nothing")

    assert issue_fields(refused.value) == ["delta"]
    assert (level.on_hand, level.events) == (4, [])


# -- shrinkage -------------------------------------------------------------------------------


def test_shrinkage_below_what_is_reserved_reports_a_shortfall() -> None:
    level = mug(on_hand=10, reserved=8)

    level.adjust(-5, "theft")

    assert (level.on_hand, level.reserved, level.available, level.shortfall) == (5, 8, 0, 3)
    assert event_types(level) == ["StockAdjusted", "StockShortfallDetected"]
    assert level.events[0].available == 0  # type: ignore[attr-defined]
    assert level.events[1] == StockShortfallDetected(
        sku="MUG", location="dc-east", on_hand=5, reserved=8
    )
    assert level.version == 2


def test_a_snapshot_counting_fewer_than_reserved_reports_a_shortfall() -> None:
    level = mug(on_hand=10, reserved=6)

    level.apply_snapshot(on_hand=4, sequence=1)

    assert (level.available, level.shortfall) == (0, 2)
    assert event_types(level) == ["StockSnapshotApplied", "StockShortfallDetected"]
    assert level.events[0].available == 0  # type: ignore[attr-defined]


def test_stock_covering_what_is_reserved_reports_no_shortfall() -> None:
    level = mug(on_hand=10, reserved=6)

    level.adjust(-4, "count")

    assert (level.available, level.shortfall) == (0, 0)
    assert event_types(level) == ["StockAdjusted"]


def test_a_level_with_a_shortfall_reserves_nothing_more() -> None:
    level = mug(on_hand=2, reserved=5)

    with pytest.raises(ValueError, match="cannot reserve"):
        reserve(level, 1)

    assert level.reserved == 5


# -- reserving -------------------------------------------------------------------------------


def test_reserving_takes_units_out_of_available() -> None:
    level = mug(on_hand=5)

    reserve(level, 3)

    assert (level.on_hand, level.reserved, level.available) == (5, 3, 2)


def test_reserving_more_than_available_is_refused_and_changes_nothing() -> None:
    level = mug(on_hand=5, reserved=3)

    with pytest.raises(ValueError, match="cannot reserve"):
        reserve(level, 3)

    assert (level.on_hand, level.reserved) == (5, 3)


def test_releasing_more_than_reserved_is_refused() -> None:
    level = mug(on_hand=5, reserved=1)

    with pytest.raises(ValueError, match="cannot release"):
        level.apply(StockMovement(level.key, Movement.RELEASE, 2))

    assert level.reserved == 1


def test_fulfilling_takes_units_off_the_shelf_and_out_of_reserved() -> None:
    level = mug(on_hand=5, reserved=3)

    level.apply(StockMovement(level.key, Movement.FULFIL, 2))

    assert (level.on_hand, level.reserved, level.available) == (3, 1, 2)


def test_a_restock_puts_units_back_on_hand() -> None:
    level = mug(on_hand=1, reserved=1)

    level.apply(StockMovement(level.key, Movement.RESTOCK, 2))

    assert (level.on_hand, level.available) == (3, 2)


_operations = st.lists(
    st.one_of(
        st.tuples(st.just("reserve"), st.integers(1, 8)),
        st.tuples(st.just("release"), st.integers(1, 8)),
        st.tuples(st.just("adjust"), st.integers(-8, 8).filter(bool)),
        st.tuples(st.just("snapshot"), st.integers(0, 12)),
    ),
    max_size=30,
)


@given(start=st.integers(0, 10), operations=_operations)
def test_reserving_never_takes_more_than_is_available(
    start: int, operations: list[tuple[str, int]]
) -> None:
    level = mug(on_hand=start)
    for sequence, (operation, n) in enumerate(operations):
        available, reserved = level.available, level.reserved
        if operation == "reserve":
            try:
                reserve(level, n)
            except ValueError:
                assert n > available
                assert level.reserved == reserved
            else:
                assert n <= available
                assert level.reserved <= level.on_hand
        elif operation == "release":
            if n <= level.reserved:
                level.apply(StockMovement(level.key, Movement.RELEASE, n))
        elif operation == "adjust":
            level.adjust(n, "count")
        else:
            level.apply_snapshot(n, sequence)
        assert level.available == max(level.on_hand - level.reserved, 0) >= 0
        assert level.on_hand >= 0
        assert level.version == len(level.events)

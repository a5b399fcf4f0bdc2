"""`TransitionTable`: legal moves, refusals that name the state and command, terminal states;
and the shape every domain table must have."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest

from domain.errors import DomainError, InvalidTransition
from domain.order_lifecycle import ORDER_TRANSITIONS, OrderStatus
from domain.payment import PAYMENT_TRANSITIONS, PaymentStatus
from domain.reservation import RESERVATION_TRANSITIONS, ReservationStatus
from domain.returns import RETURN_TRANSITIONS, ReturnStatus
from domain.state_machine import TransitionTable


class Door(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    LOCKED = "locked"
    BRICKED_UP = "bricked_up"
    LOST = "lost"


class Act(StrEnum):
    CLOSE = "close"
    OPEN = "open"
    LOCK = "lock"
    UNLOCK = "unlock"
    BRICK_UP = "brick_up"


_D, _A = Door, Act

DOOR = TransitionTable[Door, Act](
    "door",
    {
        _D.OPEN: {_A.CLOSE: frozenset({_D.CLOSED})},
        _D.CLOSED: {
            _A.OPEN: frozenset({_D.OPEN}),
            _A.LOCK: frozenset({_D.LOCKED}),
            _A.BRICK_UP: frozenset({_D.BRICKED_UP}),
        },
        _D.LOCKED: {_A.UNLOCK: frozenset({_D.CLOSED, _D.LOCKED})},
        _D.BRICKED_UP: {},
        # LOST has no row at all
    },
)


# -- allows / ensure_allowed -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "act"),
    [(_D.OPEN, _A.CLOSE), (_D.CLOSED, _A.LOCK), (_D.LOCKED, _A.UNLOCK)],
)
def test_a_command_in_the_state_row_is_allowed(state: Door, act: Act) -> None:
    assert DOOR.allows(state, act)
    DOOR.ensure_allowed(state, act)


@pytest.mark.parametrize(
    ("state", "act"),
    [(_D.OPEN, _A.LOCK), (_D.LOCKED, _A.OPEN), (_D.BRICKED_UP, _A.OPEN), (_D.CLOSED, _A.CLOSE)],
)
def test_a_command_missing_from_the_state_row_is_not_allowed(state: Door, act: Act) -> None:
    assert not DOOR.allows(state, act)


@pytest.mark.parametrize("act", list(Act))
def test_a_state_without_a_row_allows_nothing(act: Act) -> None:
    assert not DOOR.allows(_D.LOST, act)
    with pytest.raises(InvalidTransition):
        DOOR.ensure_allowed(_D.LOST, act)


def test_a_refused_command_names_the_aggregate_the_state_and_the_command() -> None:
    with pytest.raises(InvalidTransition) as refused:
        DOOR.ensure_allowed(_D.OPEN, _A.LOCK)

    error = refused.value
    assert isinstance(error, DomainError)
    assert (error.aggregate, error.state, error.command) == ("door", "open", "lock")
    assert type(error.state) is str
    assert type(error.command) is str
    assert error.code == "invalid_transition"
    assert error.context() == {"aggregate": "door", "state": "open", "command": "lock"}
    assert str(error) == error.detail == "cannot lock a door that is open"


# -- move ------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [_D.CLOSED, _D.LOCKED])
def test_move_returns_a_target_the_command_leads_to(target: Door) -> None:
    assert DOOR.move(_D.LOCKED, _A.UNLOCK, target) is target


def test_move_refuses_a_target_the_command_does_not_lead_to() -> None:
    with pytest.raises(InvalidTransition) as refused:
        DOOR.move(_D.CLOSED, _A.LOCK, _D.OPEN)

    assert (refused.value.state, refused.value.command) == ("closed", "lock")


def test_move_refuses_a_command_the_state_does_not_allow() -> None:
    with pytest.raises(InvalidTransition) as refused:
        DOOR.move(_D.OPEN, _A.LOCK, _D.LOCKED)

    assert (refused.value.state, refused.value.command) == ("open", "lock")


def test_move_refuses_every_command_in_a_state_without_a_row() -> None:
    with pytest.raises(InvalidTransition):
        DOOR.move(_D.LOST, _A.OPEN, _D.OPEN)


# -- terminal states -------------------------------------------------------------------------


def test_terminal_states_are_the_states_whose_row_is_empty() -> None:
    assert DOOR.terminal_states() == {_D.BRICKED_UP}


def test_a_table_with_no_empty_row_has_no_terminal_state() -> None:
    table = TransitionTable[Door, Act]("door", {_D.OPEN: {_A.CLOSE: frozenset({_D.CLOSED})}})
    assert table.terminal_states() == frozenset()


# -- the shape of every domain table ---------------------------------------------------------

DOMAIN_TABLES: list[tuple[TransitionTable[Any, Any], type[StrEnum], StrEnum]] = [
    (ORDER_TRANSITIONS, OrderStatus, OrderStatus.PLACED),
    (RESERVATION_TRANSITIONS, ReservationStatus, ReservationStatus.HELD),
    (PAYMENT_TRANSITIONS, PaymentStatus, PaymentStatus.AUTHORIZED),
    (RETURN_TRANSITIONS, ReturnStatus, ReturnStatus.REQUESTED),
]
DOMAIN_IDS = ["order", "reservation", "payment", "return"]


def _reachable(table: TransitionTable[Any, Any], start: StrEnum) -> set[StrEnum]:
    seen, frontier = {start}, [start]
    while frontier:
        state = frontier.pop()
        for targets in table.rows.get(state, {}).values():
            for target in targets - seen:
                seen.add(target)
                frontier.append(target)
    return seen


@pytest.mark.parametrize(("table", "states", "initial"), DOMAIN_TABLES, ids=DOMAIN_IDS)
def test_every_state_has_a_row_so_no_terminal_state_goes_unreported(
    table: TransitionTable[Any, Any], states: type[StrEnum], initial: StrEnum
) -> None:
    assert set(table.rows) == set(states)


@pytest.mark.parametrize(("table", "states", "initial"), DOMAIN_TABLES, ids=DOMAIN_IDS)
def test_every_target_is_a_state_of_the_same_machine(
    table: TransitionTable[Any, Any], states: type[StrEnum], initial: StrEnum
) -> None:
    targets = {t for row in table.rows.values() for ts in row.values() for t in ts}
    assert all(isinstance(t, states) for t in targets)
    assert all(ts for row in table.rows.values() for ts in row.values()), "a command leads nowhere"


@pytest.mark.parametrize(("table", "states", "initial"), DOMAIN_TABLES, ids=DOMAIN_IDS)
def test_every_state_is_reachable_from_the_initial_state(
    table: TransitionTable[Any, Any], states: type[StrEnum], initial: StrEnum
) -> None:
    assert _reachable(table, initial) == set(states)


@pytest.mark.parametrize(("table", "states", "initial"), DOMAIN_TABLES, ids=DOMAIN_IDS)
def test_every_state_can_still_reach_an_end(
    table: TransitionTable[Any, Any], states: type[StrEnum], initial: StrEnum
) -> None:
    ends = table.terminal_states()
    stuck = {state for state in states if not _reachable(table, state) & ends}
    assert not stuck, f"no way to an end from {sorted(stuck)}"

"""Every reservation command in every reservation state, against the stock level it holds units on."""

from __future__ import annotations

from collections.abc import Callable
from itertools import product

import pytest

from domain.errors import InvalidTransition
from domain.reservation import RESERVATION_TRANSITIONS, ReservationCommand, ReservationStatus
from tests.unit.domain.states import (
    ORDERED,
    Shelf,
    a_reservation,
    every_target,
    reservation_in,
    spelled_out,
    values,
)

_S, _C = ReservationStatus, ReservationCommand

#: Written out by hand: changing the reservation lifecycle means changing the code and this.
EXPECTED_TABLE: dict[str, dict[str, set[str]]] = {
    "held": {
        "confirm": {"confirmed"},
        "start_expiry": {"held"},
        "stop_expiry": {"held"},
        "fulfil": {"held", "fulfilled"},
        "release": {"held", "released", "fulfilled"},
        "expire": {"expired"},
    },
    "confirmed": {
        "fulfil": {"confirmed", "fulfilled"},
        "release": {"confirmed", "released", "fulfilled"},
    },
    "fulfilled": {},
    "released": {},
    "expired": {},
}

#: Each command as the order calls it; `fulfil` and `release` move one unit.
COMMANDS: dict[ReservationCommand, Callable[[Shelf], object]] = {
    _C.CONFIRM: Shelf.confirm,
    _C.START_EXPIRY: Shelf.start_expiry,
    _C.STOP_EXPIRY: Shelf.stop_expiry,
    _C.FULFIL: lambda shelf: shelf.fulfil(1),
    _C.RELEASE: lambda shelf: shelf.release(1),
    _C.EXPIRE: Shelf.expire,
}

EVERY_PAIR = list(product(ReservationStatus, ReservationCommand))
ALLOWED = [(s, c) for s, c in EVERY_PAIR if c.value in EXPECTED_TABLE[s.value]]
FORBIDDEN = [(s, c) for s, c in EVERY_PAIR if c.value not in EXPECTED_TABLE[s.value]]


def _ids(pairs: list[tuple[ReservationStatus, ReservationCommand]]) -> list[str]:
    return [f"{command}-when-{state}" for state, command in pairs]


def _assert_level_holds_what_is_outstanding(shelf: Shelf) -> None:
    r = shelf.reservation
    assert shelf.level.reserved == (r.outstanding if r.is_active else 0)
    assert r.quantity == r.outstanding + r.fulfilled + r.released


# -- the table itself ------------------------------------------------------------------------


def test_reservations_have_the_expected_states_and_commands() -> None:
    assert values(ReservationStatus) == ["held", "confirmed", "fulfilled", "released", "expired"]
    assert values(ReservationCommand) == [
        "confirm", "start_expiry", "stop_expiry", "fulfil", "release", "expire",
    ]  # fmt: skip


def test_the_reservation_table_is_the_expected_one() -> None:
    assert RESERVATION_TRANSITIONS.aggregate == "reservation"
    assert spelled_out(RESERVATION_TRANSITIONS) == EXPECTED_TABLE


def test_a_reservation_ends_when_fulfilled_released_or_expired() -> None:
    assert RESERVATION_TRANSITIONS.terminal_states() == {_S.FULFILLED, _S.RELEASED, _S.EXPIRED}


# -- every state × every command -------------------------------------------------------------


@pytest.mark.parametrize(("state", "command"), ALLOWED, ids=_ids(ALLOWED))
def test_a_command_the_table_allows_moves_the_reservation_to_one_of_its_targets(
    state: ReservationStatus, command: ReservationCommand
) -> None:
    shelf = reservation_in(state)

    COMMANDS[command](shelf)

    assert shelf.reservation.status.value in EXPECTED_TABLE[state.value][command.value]
    _assert_level_holds_what_is_outstanding(shelf)


@pytest.mark.parametrize(("state", "command"), FORBIDDEN, ids=_ids(FORBIDDEN))
def test_a_command_the_table_forbids_is_refused_and_changes_nothing(
    state: ReservationStatus, command: ReservationCommand
) -> None:
    shelf = reservation_in(state)
    stock = (shelf.level.on_hand, shelf.level.reserved)
    before = shelf.observe()

    with pytest.raises(InvalidTransition) as refused:
        COMMANDS[command](shelf)

    assert (refused.value.aggregate, refused.value.state, refused.value.command) == (
        "reservation",
        state.value,
        command.value,
    )
    assert shelf.reservation.status is state
    assert (shelf.level.on_hand, shelf.level.reserved) == stock
    assert shelf.observe() == before


# -- every target in the table is reached by some real path ----------------------------------

Scenario = tuple[Callable[[], Shelf], Callable[[Shelf], object]]

#: Where the usual path and one-unit command reach another target, how the order gets there.
OTHER_TARGETS: dict[tuple[str, str, str], Scenario] = {
    ("held", "fulfil", "fulfilled"): (a_reservation, lambda shelf: shelf.fulfil(ORDERED)),
    ("held", "release", "released"): (a_reservation, lambda shelf: shelf.release()),
    # shipped one unit from here, the other from elsewhere: the rest is released
    ("held", "release", "fulfilled"): (lambda: a_reservation().fulfil(1), Shelf.release),
    ("confirmed", "fulfil", "fulfilled"): (
        lambda: a_reservation().confirm(),
        lambda shelf: shelf.fulfil(ORDERED),
    ),
    ("confirmed", "release", "released"): (
        lambda: a_reservation().confirm(),
        lambda shelf: shelf.release(),
    ),
    ("confirmed", "release", "fulfilled"): (
        lambda: a_reservation().confirm().fulfil(1),
        Shelf.release,
    ),
}

EVERY_TARGET = every_target(EXPECTED_TABLE)


@pytest.mark.parametrize(
    ("state", "command", "target"),
    EVERY_TARGET,
    ids=[f"{c}-takes-{s}-to-{t}" for s, c, t in EVERY_TARGET],
)
def test_every_target_in_the_table_is_reached_by_a_real_path(
    state: str, command: str, target: str
) -> None:
    path, act = OTHER_TARGETS.get(
        (state, command, target),
        (lambda: reservation_in(ReservationStatus(state)), COMMANDS[ReservationCommand(command)]),
    )
    shelf = path()
    assert shelf.reservation.status == state
    act(shelf)
    assert shelf.reservation.status == target
    _assert_level_holds_what_is_outstanding(shelf)


def test_a_confirmed_reservation_no_longer_expires() -> None:
    shelf = a_reservation().start_expiry().confirm()
    assert shelf.reservation.expires_at is None


def test_expiry_stops_when_the_order_comes_off_hold() -> None:
    shelf = a_reservation().start_expiry().stop_expiry()
    assert shelf.reservation.expires_at is None
    assert shelf.reservation.status is _S.HELD

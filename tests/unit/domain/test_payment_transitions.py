"""Every payment command in every payment state: captures, failures, voids and refunds."""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from itertools import product

import pytest

from domain.errors import CaptureExceedsAuthorized, InvalidTransition, RefundExceedsCaptured
from domain.money import Money
from domain.payment import PAYMENT_TRANSITIONS, Payment, PaymentCommand, PaymentStatus
from tests.unit.domain.states import (
    AUTHORIZED,
    a_captured_payment,
    a_partly_refunded_payment,
    every_target,
    payment_in,
    spelled_out,
    values,
)

_S, _C = PaymentStatus, PaymentCommand

#: Written out by hand: changing the payment lifecycle means changing the code and this.
EXPECTED_TABLE: dict[str, dict[str, set[str]]] = {
    "authorized": {"capture": {"captured"}, "fail": {"failed"}, "void": {"voided"}},
    "failed": {"capture": {"captured"}, "fail": {"failed"}, "void": {"voided"}},
    "captured": {"refund": {"partially_refunded", "refunded"}},
    "partially_refunded": {"refund": {"partially_refunded", "refunded"}},
    "refunded": {},
    "voided": {},
}

TEN = Money.of("10.00", "EUR")

#: Each command as the order calls it: capture what was authorized, refund ten euros.
COMMANDS: dict[PaymentCommand, Callable[[Payment], object]] = {
    _C.CAPTURE: lambda payment: payment.capture(AUTHORIZED),
    _C.FAIL: Payment.fail,
    _C.VOID: Payment.void,
    _C.REFUND: lambda payment: payment.refund(TEN),
}

EVERY_PAIR = list(product(PaymentStatus, PaymentCommand))
ALLOWED = [(s, c) for s, c in EVERY_PAIR if c.value in EXPECTED_TABLE[s.value]]
FORBIDDEN = [(s, c) for s, c in EVERY_PAIR if c.value not in EXPECTED_TABLE[s.value]]


def _ids(pairs: list[tuple[PaymentStatus, PaymentCommand]]) -> list[str]:
    return [f"{command}-when-{state}" for state, command in pairs]


def _assert_amounts_in_order(payment: Payment) -> None:
    zero = Money.zero(payment.authorized.currency)
    assert zero <= payment.refunded <= payment.captured <= payment.authorized


# -- the table itself ------------------------------------------------------------------------


def test_payments_have_the_expected_states_and_commands() -> None:
    assert values(PaymentStatus) == [
        "authorized", "captured", "partially_refunded", "refunded", "failed", "voided",
    ]  # fmt: skip
    assert values(PaymentCommand) == ["capture", "fail", "void", "refund"]


def test_the_payment_table_is_the_expected_one() -> None:
    assert PAYMENT_TRANSITIONS.aggregate == "payment"
    assert spelled_out(PAYMENT_TRANSITIONS) == EXPECTED_TABLE


def test_a_payment_ends_when_refunded_or_voided() -> None:
    assert PAYMENT_TRANSITIONS.terminal_states() == {_S.REFUNDED, _S.VOIDED}


# -- every state × every command -------------------------------------------------------------


@pytest.mark.parametrize(("state", "command"), ALLOWED, ids=_ids(ALLOWED))
def test_a_command_the_table_allows_moves_the_payment_to_one_of_its_targets(
    state: PaymentStatus, command: PaymentCommand
) -> None:
    payment = payment_in(state)

    COMMANDS[command](payment)

    assert payment.status.value in EXPECTED_TABLE[state.value][command.value]
    _assert_amounts_in_order(payment)


@pytest.mark.parametrize(("state", "command"), FORBIDDEN, ids=_ids(FORBIDDEN))
def test_a_command_the_table_forbids_is_refused_and_changes_nothing(
    state: PaymentStatus, command: PaymentCommand
) -> None:
    payment = payment_in(state)
    before = deepcopy(payment)

    with pytest.raises(InvalidTransition) as refused:
        COMMANDS[command](payment)

    assert (refused.value.aggregate, refused.value.state, refused.value.command) == (
        "payment",
        state.value,
        command.value,
    )
    assert payment.status is state
    assert payment == before


# -- every target in the table is reached by some real path ----------------------------------

#: Where the usual path and a ten-euro refund reach another target, how a refund gets there.
OTHER_TARGETS: dict[
    tuple[str, str, str], tuple[Callable[[], Payment], Callable[[Payment], object]]
] = {
    ("captured", "refund", "refunded"): (
        a_captured_payment,
        lambda payment: payment.refund(AUTHORIZED),
    ),
    ("partially_refunded", "refund", "refunded"): (
        a_partly_refunded_payment,
        lambda payment: payment.refund(payment.refundable),
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
        (lambda: payment_in(PaymentStatus(state)), COMMANDS[PaymentCommand(command)]),
    )
    payment = path()
    assert payment.status == state
    act(payment)
    assert payment.status == target
    _assert_amounts_in_order(payment)


# -- amounts the table would allow but the payment refuses -----------------------------------


@pytest.mark.parametrize("state", [_S.AUTHORIZED, _S.FAILED])
def test_cannot_capture_more_than_was_authorized(state: PaymentStatus) -> None:
    payment = payment_in(state)
    before = deepcopy(payment)

    with pytest.raises(CaptureExceedsAuthorized):
        payment.capture(AUTHORIZED + Money.of("0.01", "EUR"))

    assert payment == before


@pytest.mark.parametrize("state", [_S.CAPTURED, _S.PARTIALLY_REFUNDED])
def test_cannot_refund_more_than_is_left_of_the_capture(state: PaymentStatus) -> None:
    payment = payment_in(state)
    before = deepcopy(payment)

    with pytest.raises(RefundExceedsCaptured):
        payment.refund(payment.refundable + Money.of("0.01", "EUR"))

    assert payment == before

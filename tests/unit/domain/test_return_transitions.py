"""Every return command in every return state, driven through the order the return belongs to."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from itertools import product

import pytest

from domain.errors import InvalidTransition
from domain.events import (
    RefundIssued,
    ReturnAuthorized,
    ReturnCancelled,
    ReturnClosed,
    ReturnEvent,
    ReturnHoldReleased,
    ReturnInspected,
    ReturnReceived,
    ReturnRejected,
)
from domain.returns import RETURN_TRANSITIONS, ReturnCommand, ReturnStatus
from tests.unit.domain.states import (
    HOME,
    UNIT_PRICE,
    Shop,
    every_target,
    return_in,
    spelled_out,
    values,
)

_S, _C = ReturnStatus, ReturnCommand

#: Written out by hand: changing the return lifecycle means changing the code and this.
EXPECTED_TABLE: dict[str, dict[str, set[str]]] = {
    "requested": {"authorize": {"authorized"}, "reject": {"rejected"}, "cancel": {"cancelled"}},
    "authorized": {"receive": {"received"}, "reject": {"rejected"}, "cancel": {"cancelled"}},
    "received": {"inspect": {"inspected"}},
    "inspected": {"post_credit_memo": {"refunded", "on_hold"}},
    "on_hold": {"release_hold": {"inspected"}, "accept_credit_memo": {"refunded"}},
    "refunded": {"close": {"closed"}},
    "closed": {},
    "rejected": {},
    "cancelled": {},
}

#: Each command as the application calls it. The credit memo is a new one (`CM-2`) for the refund
#: the return computed; receipt and inspection count one unit, restocked.
COMMANDS: dict[ReturnCommand, Callable[[Shop], object]] = {
    _C.AUTHORIZE: lambda shop: shop.authorize_return("RMA-2"),
    _C.REJECT: Shop.reject_return,
    _C.CANCEL: Shop.cancel_return,
    _C.RECEIVE: Shop.receive_return,
    _C.INSPECT: Shop.inspect_return,
    _C.POST_CREDIT_MEMO: lambda shop: shop.post_credit_memo("CM-2"),
    _C.RELEASE_HOLD: Shop.release_return_hold,
    _C.ACCEPT_CREDIT_MEMO: Shop.accept_credit_memo,
    _C.CLOSE: Shop.close_return,
}

#: The event each accepted command records on the order's stream.
RECORDS: dict[ReturnCommand, type[ReturnEvent]] = {
    _C.AUTHORIZE: ReturnAuthorized,
    _C.REJECT: ReturnRejected,
    _C.CANCEL: ReturnCancelled,
    _C.RECEIVE: ReturnReceived,
    _C.INSPECT: ReturnInspected,
    _C.POST_CREDIT_MEMO: RefundIssued,
    _C.RELEASE_HOLD: ReturnHoldReleased,
    _C.ACCEPT_CREDIT_MEMO: RefundIssued,
    _C.CLOSE: ReturnClosed,
}

EVERY_PAIR = list(product(ReturnStatus, ReturnCommand))
ALLOWED = [(s, c) for s, c in EVERY_PAIR if c.value in EXPECTED_TABLE[s.value]]
FORBIDDEN = [(s, c) for s, c in EVERY_PAIR if c.value not in EXPECTED_TABLE[s.value]]


def _ids(pairs: list[tuple[ReturnStatus, ReturnCommand]]) -> list[str]:
    return [f"{command}-when-{state}" for state, command in pairs]


# -- the table itself ------------------------------------------------------------------------


def test_returns_have_the_expected_states_and_commands() -> None:
    assert values(ReturnStatus) == [
        "requested", "authorized", "rejected", "received", "inspected", "on_hold", "refunded",
        "closed", "cancelled",
    ]  # fmt: skip
    assert values(ReturnCommand) == [
        "authorize", "reject", "cancel", "receive", "inspect", "post_credit_memo",
        "release_hold", "accept_credit_memo", "close",
    ]  # fmt: skip


def test_the_return_table_is_the_expected_one() -> None:
    assert RETURN_TRANSITIONS.aggregate == "return"
    assert spelled_out(RETURN_TRANSITIONS) == EXPECTED_TABLE


def test_a_return_ends_when_closed_rejected_or_cancelled() -> None:
    assert RETURN_TRANSITIONS.terminal_states() == {_S.CLOSED, _S.REJECTED, _S.CANCELLED}


def test_every_return_command_has_a_way_to_run() -> None:
    assert set(COMMANDS) == set(ReturnCommand) == set(RECORDS)


# -- every state × every command -------------------------------------------------------------


@pytest.mark.parametrize(("state", "command"), ALLOWED, ids=_ids(ALLOWED))
def test_a_command_the_table_allows_moves_the_return_to_one_of_its_targets(
    state: ReturnStatus, command: ReturnCommand
) -> None:
    shop = return_in(state)
    order_status = shop.order.status
    version, seen = shop.order.version, len(shop.order.events)

    COMMANDS[command](shop)

    assert shop.ret.status.value in EXPECTED_TABLE[state.value][command.value]
    new = shop.order.events[seen:]
    assert [type(e) for e in new] == [RECORDS[command]]
    assert all(isinstance(e, ReturnEvent) and e.return_id == shop.ret.id for e in new)
    assert shop.order.version == version + 1
    assert shop.order.status is order_status, "a return never moves its order"


@pytest.mark.parametrize(("state", "command"), FORBIDDEN, ids=_ids(FORBIDDEN))
def test_a_command_the_table_forbids_is_refused_and_changes_nothing(
    state: ReturnStatus, command: ReturnCommand
) -> None:
    shop = return_in(state)
    version, events, levels = shop.order.version, list(shop.order.events), shop.levels()
    before = shop.observe()

    with pytest.raises(InvalidTransition) as refused:
        COMMANDS[command](shop)

    assert (refused.value.aggregate, refused.value.state, refused.value.command) == (
        "return",
        state.value,
        command.value,
    )
    assert shop.ret.status is state
    assert shop.order.version == version
    assert shop.order.events == events
    assert shop.levels() == levels
    assert shop.observe() == before


# -- every target in the table is reached by some real path ----------------------------------

#: Where the usual path and a matching credit memo reach another target, how a return gets there.
OTHER_TARGETS: dict[tuple[str, str, str], tuple[Callable[[], Shop], Callable[[Shop], object]]] = {
    ("inspected", "post_credit_memo", "on_hold"): (
        lambda: return_in(_S.INSPECTED),
        lambda shop: shop.post_credit_memo("CM-2", Decimal("5.00")),
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
        (lambda: return_in(ReturnStatus(state)), COMMANDS[ReturnCommand(command)]),
    )
    shop = path()
    assert shop.ret.status == state
    act(shop)
    assert shop.ret.status == target


# -- what the moves do besides moving --------------------------------------------------------


def test_a_refunded_return_refunds_the_payment_and_inspection_restocked_the_unit() -> None:
    delivered = return_in(_S.AUTHORIZED)
    on_hand = delivered.level(HOME).on_hand

    shop = delivered.receive_return().inspect_return()
    assert shop.level(HOME).on_hand == on_hand + 1
    shop.post_credit_memo()

    assert shop.ret.status is _S.REFUNDED
    assert shop.order.payment.refunded.amount == UNIT_PRICE


def test_a_released_hold_waits_for_a_matching_credit_memo_again() -> None:
    shop = return_in(_S.ON_HOLD).release_return_hold()
    assert (shop.ret.status, shop.ret.credit_memo_ref) == (_S.INSPECTED, None)

    shop.post_credit_memo("CM-2")

    assert shop.ret.status is _S.REFUNDED


# -- harmless repeats: no event, no new version ----------------------------------------------


@pytest.mark.parametrize(
    ("state", "memo"),
    [(_S.REFUNDED, "CM-1"), (_S.CLOSED, "CM-1"), (_S.ON_HOLD, "CM-WRONG")],
    ids=["refunded", "closed", "on_hold"],
)
def test_the_same_credit_memo_posted_again_changes_nothing(state: ReturnStatus, memo: str) -> None:
    shop = return_in(state)
    before = shop.observe()
    version, seen = shop.order.version, len(shop.order.events)

    shop.post_credit_memo(memo, shop.ret.refund_amount.amount if shop.ret.refund_amount else None)

    assert shop.order.version == version
    assert len(shop.order.events) == seen
    assert shop.observe() == before

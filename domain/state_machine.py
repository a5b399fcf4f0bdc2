"""Transition tables: each aggregate declares its legal moves in one table, checked here."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Generic, TypeVar

from domain.errors import InvalidTransition

S = TypeVar("S", bound=StrEnum)
A = TypeVar("A", bound=StrEnum)


class TransitionTable(Generic[S, A]):
    """`state -> command -> states it may lead to`; a command missing from a state's row is illegal."""

    def __init__(self, aggregate: str, rows: Mapping[S, Mapping[A, frozenset[S]]]) -> None:
        self.aggregate = aggregate
        self.rows = rows

    def allows(self, state: S, command: A) -> bool:
        """True when `command` is legal in `state`."""
        return command in self.rows.get(state, {})

    def ensure_allowed(self, state: S, command: A) -> None:
        """Raise `InvalidTransition` unless `command` is legal in `state`."""
        if not self.allows(state, command):
            raise InvalidTransition(self.aggregate, state.value, command.value)

    def move(self, state: S, command: A, target: S) -> S:
        """Check that `command` may take `state` to `target`, and return `target`."""
        self.ensure_allowed(state, command)
        if target not in self.rows[state][command]:
            raise InvalidTransition(self.aggregate, state.value, command.value)
        return target

    def terminal_states(self) -> frozenset[S]:
        """States whose row lists no legal command."""
        return frozenset(state for state, row in self.rows.items() if not row)

"""Renders the domain's transition tables as Markdown (states × commands), for docs/domain.md."""

from __future__ import annotations

from enum import StrEnum

from domain.order_lifecycle import ORDER_TRANSITIONS, OrderCommand
from domain.payment import PAYMENT_TRANSITIONS, PaymentCommand
from domain.reservation import RESERVATION_TRANSITIONS, ReservationCommand
from domain.returns import RETURN_TRANSITIONS, ReturnCommand
from domain.state_machine import TransitionTable

TABLES: list[tuple[str, TransitionTable, type[StrEnum]]] = [  # type: ignore[type-arg]
    ("Order", ORDER_TRANSITIONS, OrderCommand),
    ("Reservation", RESERVATION_TRANSITIONS, ReservationCommand),
    ("Payment", PAYMENT_TRANSITIONS, PaymentCommand),
    ("Return", RETURN_TRANSITIONS, ReturnCommand),
]


def render(table: TransitionTable, commands: type[StrEnum]) -> str:  # type: ignore[type-arg]
    header = "| state | " + " | ".join(c.value for c in commands) + " |"
    rule = "|---" * (len(commands) + 1) + "|"
    rows = []
    for state, row in table.rows.items():
        cells = [", ".join(sorted(t.value for t in row[c])) if c in row else "·" for c in commands]
        rows.append(f"| **{state.value}** | " + " | ".join(cells) + " |")
    return "\n".join([header, rule, *rows])


def render_all() -> str:
    parts = []
    for name, table, commands in TABLES:
        parts.append(f"### {name}\n\n{render(table, commands)}\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render_all())

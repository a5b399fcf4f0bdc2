"""The hub's own reactions to its events: which follow-up commands an event calls for.

Pure functions from an event to commands; the bus runs the commands in their own transactions,
so a reaction that fails never undoes the change that caused it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from domain.commands import Command, FillBackorders
from domain.events import (
    AddedLinesRefused,
    DomainEvent,
    OrderAmended,
    OrderCancelled,
    ReservationExpired,
    ReservedUnits,
    ReturnInspected,
    ShipmentDispatched,
    StockAdjusted,
    StockSnapshotApplied,
)


def _fill_if_available(event: StockAdjusted | StockSnapshotApplied) -> list[Command]:
    return [FillBackorders(sku=event.sku)] if event.available > 0 else []


def _fill_released(released: Iterable[ReservedUnits]) -> list[Command]:
    return [FillBackorders(sku=sku) for sku in sorted({units.sku for units in released})]


def _fill_restocked(event: ReturnInspected) -> list[Command]:
    skus = {line.sku for line in event.lines if line.restocked_at is not None}
    return [FillBackorders(sku=sku) for sku in sorted(skus)]


Reaction = Callable[[Any], list[Command]]

#: Event type -> reactions. Units going back to available stock are offered to backorders.
EVENT_REACTIONS: Final[Mapping[type[DomainEvent], tuple[Reaction, ...]]] = {
    StockAdjusted: (_fill_if_available,),
    StockSnapshotApplied: (_fill_if_available,),
    OrderCancelled: (lambda e: _fill_released(e.released),),
    OrderAmended: (lambda e: _fill_released(e.released),),
    AddedLinesRefused: (lambda e: _fill_released(e.released),),
    ReservationExpired: (lambda e: _fill_released(e.expired),),
    ShipmentDispatched: (lambda e: _fill_released(e.released),),
    ReturnInspected: (_fill_restocked,),
}


def reactions_to(event: DomainEvent) -> list[Command]:
    """Every follow-up command `event` calls for."""
    return [cmd for react in EVENT_REACTIONS.get(type(event), ()) for cmd in react(event)]

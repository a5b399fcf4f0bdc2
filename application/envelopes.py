"""Wrapping an aggregate's pending events in outbox envelopes, at commit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from uuid import UUID

from domain.aggregate import Aggregate
from ports.outbox import EventEnvelope
from ports.unit_of_work import CommandMeta


def collect_envelopes(
    aggregates: Iterable[Aggregate], meta: CommandMeta, now: datetime, new_id: Callable[[], UUID]
) -> list[EventEnvelope]:
    """Take the pending events of every aggregate, numbered by their position in its stream."""
    envelopes = []
    for aggregate in aggregates:
        first = aggregate.first_pending_version
        for i, event in enumerate(aggregate.pull_events()):
            envelopes.append(
                EventEnvelope(
                    event_id=new_id(),
                    event_type=type(event).__name__,
                    schema_version=event.schema_version,
                    aggregate_type=aggregate.aggregate_type,
                    aggregate_id=aggregate.stream_id,
                    aggregate_version=first + i,
                    occurred_at=now,
                    correlation_id=meta.correlation_id,
                    causation_id=meta.causation_id,
                    actor=meta.actor,
                    payload=event,
                )
            )
    return envelopes

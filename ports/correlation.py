"""The correlation id of the work in hand: the HTTP request being served, or the event being
delivered. Log lines and calls to other systems carry it, so one id follows an order's request
from the channel through the outbox, the broker and the worker to the ERP and the timeline."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_current: ContextVar[str | None] = ContextVar("orderhub_correlation_id", default=None)

#: The header that carries it over HTTP, in both directions.
HEADER = "X-Correlation-Id"


def current_correlation_id() -> str | None:
    return _current.get()


@contextmanager
def correlated(correlation_id: str) -> Iterator[None]:
    """Within this block, the work in hand is `correlation_id`'s."""
    token = _current.set(correlation_id)
    try:
        yield
    finally:
        _current.reset(token)

"""Tracing spans for the places where work happens, on the OpenTelemetry API. The API is itself
a port: a no-op until a process installs a tracer provider (`entrypoints/tracing.py`, the SDK
and the exporter stay there). Every span carries the correlation id of the work in hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from ports.correlation import current_correlation_id

_tracer = trace.get_tracer("orderhub")


@contextmanager
def span(
    name: str, kind: SpanKind = SpanKind.INTERNAL, **attributes: str | int | bool
) -> Iterator[Span]:
    with _tracer.start_as_current_span(name, kind=kind, attributes=attributes) as current:
        correlation = current_correlation_id()
        if correlation is not None:
            current.set_attribute("orderhub.correlation_id", correlation)
        yield current

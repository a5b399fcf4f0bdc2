"""The spans this test process made: a tracer provider with an in-memory exporter, installed once
(OpenTelemetry allows one global provider per process)."""

from __future__ import annotations

from functools import cache

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from entrypoints.tracing import configure_tracing


@cache
def _installed() -> tuple[InMemorySpanExporter, object]:
    exporter = InMemorySpanExporter()
    provider = configure_tracing("test", None, exporter=exporter)
    assert provider is not None
    return exporter, provider


def recording() -> InMemorySpanExporter:
    """Start recording (again) from now."""
    exporter, provider = _installed()
    provider.force_flush()  # type: ignore[attr-defined] # spans still queued belong to before
    exporter.clear()
    return exporter


def finished() -> list[ReadableSpan]:
    exporter, provider = _installed()
    provider.force_flush()  # type: ignore[attr-defined]
    return list(exporter.get_finished_spans())

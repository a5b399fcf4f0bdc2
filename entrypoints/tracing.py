"""OpenTelemetry tracing, exported only when OTEL_EXPORTER_OTLP_ENDPOINT is set (OTLP over HTTP).

Spans are made where the work happens (`ports/tracing.py` makes them): each HTTP request, each
relay batch, each delivery of an event to a consumer, each call to the ERP, CRM or commerce
platform. Without an endpoint the API's no-op tracer is left in place and they cost next to
nothing."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter


def configure_tracing(
    process: str, endpoint: str | None, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """Install a tracer provider for this process (`serve`, `relay`, `worker`) when an endpoint
    (or, in tests, an exporter) is given; returns it, or None when tracing stays off."""
    if endpoint is None and exporter is None:
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": f"orderhub-{process}"}))
    chosen = exporter or OTLPSpanExporter(endpoint=f"{(endpoint or '').rstrip('/')}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(chosen))
    trace.set_tracer_provider(provider)
    return provider

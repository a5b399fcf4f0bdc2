"""Spans of the HTTP API and of a call to the ERP, each with the request's correlation id."""

from __future__ import annotations

from opentelemetry.trace import SpanKind

from entrypoints.tracing import configure_tracing
from tests.integration.http import requests
from tests.integration.http.conftest import Api
from tests.tracing import finished, recording


async def test_a_request_is_a_server_span_with_its_correlation_id_and_status(api: Api) -> None:
    await requests.stock(api)
    recording()
    placed = await api.client.post(
        "/v1/orders",
        json=requests.order_body(),
        headers={**requests.idempotent(api, "web"), "X-Correlation-Id": "trace-place-1"},
    )
    assert placed.status_code == 201
    [server] = [s for s in finished() if s.kind is SpanKind.SERVER]
    assert server.name == "HTTP POST"
    assert server.attributes is not None
    assert dict(server.attributes) == {
        "http.request.method": "POST",
        "url.path": "/v1/orders",
        "orderhub.correlation_id": "trace-place-1",
        "http.response.status_code": 201,
    }


def test_without_an_endpoint_tracing_stays_off() -> None:
    assert configure_tracing("serve", None) is None

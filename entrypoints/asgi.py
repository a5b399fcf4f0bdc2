"""The ASGI application of `orderhub serve`, built from the environment (uvicorn factory)."""

from __future__ import annotations

from litestar import Litestar

from entrypoints.container import build_container
from entrypoints.heap import freeze_startup_objects
from entrypoints.http.app import create_app
from entrypoints.logs import configure_logging
from entrypoints.settings import Settings
from entrypoints.tracing import configure_tracing


def app() -> Litestar:
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)  # each server process its own
    configure_tracing("serve", settings.otel_exporter_otlp_endpoint)
    built = create_app(build_container(settings))
    freeze_startup_objects()
    return built

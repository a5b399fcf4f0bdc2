"""The ASGI application of `orderhub serve`, built from the environment (uvicorn factory)."""

from __future__ import annotations

import asyncio

from litestar import Litestar

from entrypoints.container import build_container
from entrypoints.embedded import EmbeddedDelivery, is_embedded
from entrypoints.heap import freeze_startup_objects
from entrypoints.http.app import create_app
from entrypoints.logs import configure_logging
from entrypoints.settings import Settings
from entrypoints.tracing import configure_tracing


def app() -> Litestar:
    settings = Settings.from_env()
    # each server process its own
    configure_logging(settings.log_level, settings.log_format, process="serve")
    configure_tracing("serve", settings.otel_exporter_otlp_endpoint)
    built = create_app(build_container(settings))
    if is_embedded(settings):
        _deliver_in_process(built, EmbeddedDelivery(settings))
    freeze_startup_objects()
    return built


def _deliver_in_process(app: Litestar, delivery: EmbeddedDelivery) -> None:
    """Relay and workers start with the server and stop before its engines are disposed."""

    def start() -> None:
        delivery.start()

    async def stop() -> None:
        await asyncio.to_thread(delivery.stop)

    app.on_startup.append(start)
    app.on_shutdown.append(stop)

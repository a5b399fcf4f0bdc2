"""The Litestar application factory: routes, auth, limits, errors, OpenAPI at /schema."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.di import Provide
from litestar.logging.config import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin
from litestar.static_files import create_static_files_router

from entrypoints.container import Container
from entrypoints.http.auth import PUBLIC, ApiKeyAuthentication
from entrypoints.http.console import console_router
from entrypoints.http.console.session import SESSION_STORE
from entrypoints.http.correlation import Correlation, name_correlation
from entrypoints.http.events import EventFeedController
from entrypoints.http.health import HealthController
from entrypoints.http.inbound import InboundController
from entrypoints.http.inventory import InventoryController
from entrypoints.http.metrics import MetricsController
from entrypoints.http.notes import NoteController
from entrypoints.http.openapi import SECURITY_SCHEME, TAGS, components, operation_id, tell_the_truth
from entrypoints.http.ops import OpsController
from entrypoints.http.orders import OrderController
from entrypoints.http.problems import EXCEPTION_HANDLERS
from entrypoints.http.rate_limit import PublicRouteLimit, RateLimit
from entrypoints.http.refunds import RefundController
from entrypoints.http.returns import ReturnController
from entrypoints.http.shopify import ShopifyWebhookController, ShopifyWebhooks
from entrypoints.http.strict_body import strict_json_body
from entrypoints.http.webhook_subscriptions import Webhooks, WebhookSubscriptionController
from entrypoints.metrics import HTTP_METRICS
from entrypoints.readiness import Readiness

#: The OpenAPI document and its viewers need no key (anchored: Litestar's patterns are regexes).
PUBLIC_PATHS = ["^/schema(/|$)"]

#: The docs viewer's script, served from the package: the page loads nothing from elsewhere.
DOCS_ASSETS = Path(__file__).parent / "docs_assets"
REDOC_JS = "/schema/assets/redoc-2.5.0.standalone.js"


def _provide(value: Any) -> Provide:
    return Provide(lambda: value, use_cache=True, sync_to_thread=False)


def create_app(container: Container) -> Litestar:
    settings = container.settings()
    engine, read_engine = container.engine(), container.read_engine()
    sessions = container.console_sessions()

    async def dispose() -> None:
        await engine.dispose()
        await read_engine.dispose()
        await sessions.__aexit__(None, None, None)  # closes a Redis store's connections

    app = Litestar(
        route_handlers=[
            OrderController,
            NoteController,
            RefundController,
            ReturnController,
            InventoryController,
            InboundController,
            HealthController,
            ShopifyWebhookController,
            OpsController,
            EventFeedController,
            WebhookSubscriptionController,
            MetricsController,
            create_static_files_router(
                "/schema/assets", directories=[DOCS_ASSETS], include_in_schema=False
            ),
            console_router(
                container.api_keys(),
                container.authenticator(),
                container.clock(),
                settings.public_origin,
            ),
        ],
        dependencies={
            "runner": _provide(container.command_runner()),
            "inbound": _provide(container.inbound()),
            "dead_letter_store": _provide(container.dead_letters()),
            "bus": _provide(container.bus()),
            "shopify_webhooks": _provide(
                ShopifyWebhooks(
                    secret=settings.shopify_webhook_secret,
                    max_age=timedelta(seconds=settings.shopify_webhook_max_age_seconds),
                    clock=container.clock(),
                )
            ),
            "lookup": _provide(container.lookup()),
            "read_models": _provide(container.read_models()),
            "operations": _provide(container.operations()),
            "remotes": _provide(container.remotes()),
            "relay_history": _provide(container.relay_history()),
            "hub_state": _provide(container.hub_state()),
            "readiness": _provide(Readiness(read_engine, container.broker())),
            "view_store": _provide(container.view_store()),
            "feed": _provide(container.feed()),
            "webhooks": _provide(
                Webhooks(
                    store=container.webhook_subscriptions(),
                    box=container.webhook_secret_box(),
                    ids=container.ids(),
                    clock=container.clock(),
                    feed=container.feed(),
                    allow_private=settings.webhook_allow_private,
                )
            ),
        },
        middleware=[
            HTTP_METRICS.middleware,
            Correlation(),
            PublicRouteLimit(settings.public_rate_limit, container.rate_limit_storage(), PUBLIC),
            DefineMiddleware(
                ApiKeyAuthentication, authenticator=container.authenticator(), exclude=PUBLIC_PATHS
            ),
            RateLimit(settings.rate_limit, container.rate_limit_storage()),
        ],
        stores={SESSION_STORE: sessions},
        exception_handlers=EXCEPTION_HANDLERS,
        # Litestar's default config would reset the root logger to INFO, ignoring LOG_LEVEL.
        logging_config=LoggingConfig(configure_root_logger=False),
        before_send=[name_correlation],
        request_max_body_size=settings.max_body_bytes,
        before_request=strict_json_body,
        openapi_config=OpenAPIConfig(
            title="orderhub",
            version="0.1.0",
            description="Order operations hub: orders, reservations and returns (PRODUCT.md §5).",
            path="/schema",
            components=components(),
            security=[{SECURITY_SCHEME: []}],  # public routes say `[]` (openapi.py)
            tags=TAGS,
            operation_id_creator=operation_id,
            use_handler_docstrings=True,  # each route's docstring is its description
            render_plugins=[
                # Litestar's default favicon is an image on a CDN: none instead.
                RedocRenderPlugin(
                    js_url=REDOC_JS,
                    google_fonts=False,
                    path="/",
                    favicon='<link rel="icon" href="data:,">',
                )
            ],
        ),
        on_shutdown=[dispose],
    )
    tell_the_truth(app)
    return app

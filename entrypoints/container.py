"""The composition root: every process (HTTP, relay, worker, CLI, tests) builds from here."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import partial
from typing import Any, cast

from dependency_injector import containers, providers

from adapters.circuit_reporter import CircuitReporter
from adapters.clock import SystemClock
from adapters.commerce_routes import CommerceRouter
from adapters.dramatiq.actors import declare_actors
from adapters.dramatiq.broker import make_broker
from adapters.dramatiq.publisher import DramatiqPublisher
from adapters.guarded_commerce import GuardedCommerce
from adapters.guarded_crm import GuardedCrm
from adapters.guarded_erp import GuardedErp
from adapters.guarded_payment import GuardedPayments
from adapters.http.erp_rest import RestErp
from adapters.http.resilience import CircuitBreaker
from adapters.http.salesforce import SalesforceCrm
from adapters.http.shopify import ShopifyCommerce
from adapters.http.stripe import StripePayments
from adapters.http.webhook_sender import HttpWebhookSender
from adapters.ids import RandomIds
from adapters.message_codec import MsgspecCodec
from adapters.redaction import redacted
from adapters.simulators.back_office import SimulatedBackOffice
from adapters.sql.api_keys import SqlApiKeys
from adapters.sql.circuit_board import SqlCircuitBoard
from adapters.sql.deferred_inbound import SqlDeferredInbound
from adapters.sql.delivery_log import SqlDeadLetters, SqlDeliveryLog
from adapters.sql.engine import create_engine
from adapters.sql.event_feed import SqlEventFeed
from adapters.sql.idempotency import SqlIdempotencyGate
from adapters.sql.operations_reader import SqlOperationsReader
from adapters.sql.order_lookup import SqlOrderLookup
from adapters.sql.outbox_store import SqlOutboxStore
from adapters.sql.relay_minutes import SqlRelayMinutes
from adapters.sql.retention import SqlRetentionStore
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from adapters.sql.view_reader import SqlViewReader
from adapters.sql.view_store import SqlViewStore
from adapters.sql.webhook_subscriptions import SqlWebhookAudience, SqlWebhookSubscriptions
from adapters.webhook_commerce import ThroughWebhooks
from adapters.webhook_secrets import SecretBox
from application.bus import MessageBus
from application.consumers import Consumer
from application.context import HandlerContext
from application.inbound import Inbound, InboundPolicy
from application.integration_trouble import TroubleReporter
from application.process_managers.context import ProcessContext
from application.process_managers.fulfilment import Fulfilment
from application.process_managers.hub_reactions import HubReactions
from application.process_managers.returns import Returns
from application.retention import Retention, RetentionPolicy
from application.webhooks import WebhookDeliveries
from entrypoints.http.auth import Authenticator
from entrypoints.http.commands import CommandRunner
from entrypoints.http.console.session_store import session_store
from entrypoints.http.rate_limit import Window, rate_limit_storage
from entrypoints.metrics import (
    HubState,
    observe_command,
    observe_delivery,
    observe_relay_batch,
    observe_republished,
    watch_pool,
)
from entrypoints.settings import Settings
from outbox.dead_letters import DeadLetters
from outbox.delivery import Delivery
from outbox.policy import DeliveryPolicy
from outbox.registry import ConsumerRegistry
from outbox.relay import Relay, RelaySettings
from ports.commerce import CommercePort
from ports.crm import CrmPort
from ports.erp import ErpPort
from ports.payment import PaymentPort
from read_models.event_feed import Feed
from read_models.operations import Operations
from read_models.projector import OrderProjection
from read_models.queries import ReadModels
from read_models.relay_history import RelayHistory
from read_models.remotes import Remotes

#: Every consumer of delivered events; each gets its own queue and its own delivery records.
CONSUMERS = ConsumerRegistry(
    cast(
        tuple[type[Consumer], ...],
        (HubReactions, Fulfilment, Returns, OrderProjection, WebhookDeliveries),
    )
)
#: The consumers that call remote systems: the trouble of their deliveries shows on the order's
#: timeline (PRODUCT.md §8.3). Never the projection's (it makes the timeline), nor the hub's own.
CALLING_REMOTES = frozenset({Fulfilment.name, Returns.name})


def _breaker(name: str, clock: Any, listener: Any) -> providers.Singleton[CircuitBreaker]:
    """A remote's breaker: after 5 failures in a row the remote is called no more for 30 s,
    then probed; every change is told to `listener`."""
    return providers.Singleton(
        CircuitBreaker, name, failure_threshold=5, reset_timeout=30.0, clock=clock,
        listener=listener,
    )  # fmt: skip


def _erp(settings: Settings, office: SimulatedBackOffice, breaker: CircuitBreaker) -> ErpPort:
    if settings.erp_url:
        return RestErp(base_url=settings.erp_url, api_key=settings.erp_api_key, breaker=breaker)
    return GuardedErp(office.erp, breaker)


def _crm(settings: Settings, office: SimulatedBackOffice, breaker: CircuitBreaker) -> CrmPort:
    if settings.crm_url:
        assert settings.salesforce_client_id
        assert settings.salesforce_client_secret
        return SalesforceCrm(
            login_url=settings.crm_url,
            client_id=settings.salesforce_client_id,
            client_secret=settings.salesforce_client_secret,
            breaker=breaker,
        )
    return GuardedCrm(office.crm, breaker)


def _commerce(
    settings: Settings, office: SimulatedBackOffice, breaker: CircuitBreaker
) -> CommercePort:
    """Each channel's pushes to its `COMMERCE_ROUTES` target; Shopify built only if routed to.
    Every target shares the one `commerce` breaker (the contract names one commerce remote)."""
    routes = settings.commerce_routing()
    targets: dict[str, CommercePort] = {"simulator": GuardedCommerce(office.commerce, breaker)}
    if "webhook" in routes.targets:  # calls nobody: the webhooks consumer sends the events
        targets["webhook"] = ThroughWebhooks()
    if "shopify" in routes.targets:
        assert settings.shopify_access_token
        targets["shopify"] = ShopifyCommerce(
            shop_url=settings.commerce_url,
            access_token=settings.shopify_access_token,
            breaker=breaker,
        )
    return CommerceRouter(routes, targets)


def _payment(
    settings: Settings, office: SimulatedBackOffice, breaker: CircuitBreaker
) -> PaymentPort:
    if settings.payment_provider == "stripe":
        assert settings.stripe_api_key
        return StripePayments(
            api_key=settings.stripe_api_key, api_base=settings.stripe_api_base, breaker=breaker
        )
    return GuardedPayments(office.payments, breaker)


def _consumers(
    bus: MessageBus,
    process: ProcessContext,
    projection: OrderProjection,
    webhooks: WebhookDeliveries,
) -> dict[str, Consumer]:
    built: list[Any] = [
        HubReactions(bus),
        Fulfilment(process),
        Returns(process),
        projection,
        webhooks,
    ]
    return {consumer.name: consumer for consumer in built}


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(RandomIds)

    #: Each engine's connections in use are read at each scrape (`watch_pool`).
    engine = providers.Singleton(
        watch_pool,
        "write",
        providers.Singleton(
            create_engine, settings.provided.database_url, pool_size=settings.provided.db_pool_size
        ),
        settings.provided.db_pool_size,
    )
    read_engine = providers.Singleton(
        watch_pool,
        "read",
        providers.Singleton(
            create_engine,
            settings.provided.database_url,
            pool_size=settings.provided.db_pool_size,
            for_writes=False,
        ),
        settings.provided.db_pool_size,
    )

    # -- the write side ----------------------------------------------------------------------
    uow_factory = providers.Singleton(SqlUnitOfWorkFactory, engine, clock, ids)
    handler_context = providers.Singleton(
        HandlerContext, clock=clock, ids=ids, settings=settings.provided.hub.call()
    )
    bus = providers.Singleton(MessageBus, uow_factory, handler_context, observer=observe_command)

    idempotency_gate = providers.Singleton(
        SqlIdempotencyGate,
        engine,
        retention=providers.Factory(
            timedelta, seconds=settings.provided.idempotency_retention_seconds
        ),
        lease=providers.Factory(timedelta, seconds=settings.provided.idempotency_lease_seconds),
    )
    command_runner = providers.Singleton(CommandRunner, bus, idempotency_gate, clock)
    deferred_inbound = providers.Singleton(SqlDeferredInbound, engine)
    inbound = providers.Singleton(
        Inbound,
        bus,
        deferred_inbound,
        clock,
        providers.Factory(
            InboundPolicy().outlasting,
            providers.Factory(timedelta, seconds=settings.provided.remote_outage_horizon_seconds),
        ),
    )
    #: Keys are looked up on the read pool: a flood of unknown keys never queues on the pool
    #: that place-order writes through.
    api_keys = providers.Singleton(SqlApiKeys, engine, clock, lookups=read_engine)
    lookup = providers.Singleton(SqlOrderLookup, read_engine)

    # -- the read side -------------------------------------------------------------------------
    view_store = providers.Singleton(SqlViewStore, engine)
    projection = providers.Singleton(OrderProjection, view_store, clock)
    read_models = providers.Singleton(
        ReadModels, providers.Singleton(SqlViewReader, read_engine), projection
    )
    operations_reader = providers.Singleton(SqlOperationsReader, read_engine)
    operations = providers.Singleton(
        Operations, operations_reader, clock, settings.provided.slas.call()
    )
    #: Read on the read engine: on SQLite its transactions never queue behind writers.
    remotes = providers.Singleton(
        Remotes, providers.Singleton(SqlCircuitBoard, read_engine), operations_reader
    )
    #: The outbox's last hour, from the relays' minute tallies (written by `relay` below).
    relay_history = providers.Singleton(
        RelayHistory, providers.Singleton(SqlRelayMinutes, read_engine)
    )
    hub_state = providers.Singleton(
        HubState, operations, remotes, settings.provided.metrics_state_seconds
    )
    #: Rate-limit counters and console sessions: in Redis whenever `BROKER_URL` or
    #: `RATE_LIMIT_STORAGE` names one, so every API process shares them (PRODUCT.md §8.7).
    rate_limit_storage = providers.Singleton(
        rate_limit_storage, settings.provided.rate_limit_url.call()
    )
    console_sessions = providers.Singleton(
        session_store, settings.provided.session_store_url.call()
    )
    authenticator = providers.Singleton(
        Authenticator,
        api_keys,
        providers.Singleton(
            Window, "auth-failures", settings.provided.auth_failure_limit, rate_limit_storage
        ),
    )

    #: The outbox as channels read it (GET /v1/events), on the read pool.
    feed = providers.Singleton(
        Feed,
        providers.Singleton(SqlEventFeed, read_engine),
        clock,
        providers.Factory(timedelta, days=settings.provided.retention_days),
    )

    # -- the back office: simulators unless a URL names the real system -------------------------
    back_office = providers.Singleton(
        SimulatedBackOffice, clock=clock, seed=settings.provided.simulator_seed
    )
    #: Every breaker posts its changes here, for GET /v1/ops/remotes in any process.
    circuit_reporter = providers.Singleton(
        CircuitReporter, providers.Singleton(SqlCircuitBoard, engine), clock
    )
    #: The breakers' cool-down clock: seconds that never go backwards (the demo's runs fast).
    breaker_clock = providers.Object(time.monotonic)
    #: Each remote its own breaker, simulated or real, so an outage of one (ERP) stops no calls to
    #: another (payment). Degraded mode: after 5 failures in a row a remote is called no more for
    #: 30 s, then probed.
    erp_breaker = _breaker("erp", breaker_clock, circuit_reporter)
    payment_breaker = _breaker("payment", breaker_clock, circuit_reporter)
    crm_breaker = _breaker("crm", breaker_clock, circuit_reporter)
    commerce_breaker = _breaker("commerce", breaker_clock, circuit_reporter)
    erp = providers.Singleton(_erp, settings, back_office, erp_breaker)
    crm = providers.Singleton(_crm, settings, back_office, crm_breaker)
    commerce = providers.Singleton(_commerce, settings, back_office, commerce_breaker)
    payment = providers.Singleton(_payment, settings, back_office, payment_breaker)
    process_context = providers.Singleton(
        ProcessContext,
        bus=bus,
        uow_factory=uow_factory,
        clock=clock,
        erp=erp,
        crm=crm,
        commerce=commerce,
        payment=payment,
        erp_grace=providers.Factory(timedelta, seconds=settings.provided.erp_grace_seconds),
    )
    # -- outbound webhooks (PRODUCT.md §8.5) ---------------------------------------------------
    webhook_secret_box = providers.Singleton(SecretBox, settings.provided.webhook_secret_key)
    webhook_subscriptions = providers.Singleton(
        SqlWebhookSubscriptions,
        engine,
        webhook_secret_box,
        providers.Object(WebhookDeliveries.name),
    )
    webhook_sender = providers.Singleton(
        HttpWebhookSender,
        providers.Singleton(MsgspecCodec),
        clock,
        allow_private=settings.provided.webhook_allow_private,
    )
    webhook_deliveries = providers.Singleton(
        WebhookDeliveries, webhook_subscriptions, webhook_sender, lookup, clock
    )
    consumers = providers.Singleton(
        _consumers, bus, process_context, projection, webhook_deliveries
    )

    # -- event delivery ----------------------------------------------------------------------
    broker = providers.Singleton(make_broker, settings.provided.broker_url)
    codec = providers.Singleton(MsgspecCodec)
    delivery_log = providers.Singleton(SqlDeliveryLog, engine)
    delivery_timeout = providers.Factory(
        timedelta, seconds=settings.provided.delivery_timeout_seconds
    )
    delivery_policy = providers.Singleton(
        DeliveryPolicy,
        redelivery_timeout=delivery_timeout,
        outage_horizon=providers.Factory(
            timedelta, seconds=settings.provided.remote_outage_horizon_seconds
        ),
    )
    trouble_reporter = providers.Singleton(
        TroubleReporter,
        bus,
        providers.Object(CALLING_REMOTES),
        providers.Factory(partial, redacted, secrets=settings.provided.secrets.call()),
    )
    delivery = providers.Singleton(
        Delivery,
        consumers,
        delivery_log,
        codec,
        clock,
        delivery_policy,
        trouble=trouble_reporter,
        observe=providers.Object(observe_delivery),
    )
    actors = providers.Singleton(declare_actors, broker, CONSUMERS.names, delivery.provider)
    publisher = providers.Singleton(DramatiqPublisher, broker, actors)
    dead_letters = providers.Singleton(
        DeadLetters, providers.Singleton(SqlDeadLetters, engine), deferred_inbound, clock
    )
    outbox_store = providers.Singleton(SqlOutboxStore, engine)
    retention = providers.Singleton(
        Retention,
        providers.Singleton(SqlRetentionStore, engine),
        clock,
        providers.Singleton(RetentionPolicy, days=settings.provided.retention_days),
    )
    relay_settings = providers.Singleton(RelaySettings, redelivery_timeout=delivery_timeout)
    relay = providers.Singleton(
        Relay,
        outbox_store,
        publisher,
        providers.Object(CONSUMERS),
        clock,
        relay_settings,
        minutes=providers.Singleton(SqlRelayMinutes, engine),
        audience=providers.Singleton(
            SqlWebhookAudience, read_engine, providers.Object(WebhookDeliveries.name)
        ),
        on_batch=providers.Object(observe_relay_batch),
        on_republished=providers.Object(observe_republished),
    )


async def dispose_engines(container: Container) -> None:
    """Close both of the container's connection pools (the read engine is made lazily, holds no
    connection until used, and closes at once if it never was)."""
    await container.engine().dispose()
    await container.read_engine().dispose()


def build_container(settings: Settings) -> Container:
    return Container(settings=settings)

"""Every adapter is an implementation of its port, as mypy sees it (`make lint` type-checks this
module): a Protocol is structural, so nothing else would say when an adapter drifts from it.
Nothing here runs."""

from __future__ import annotations

from adapters.dramatiq.publisher import DramatiqPublisher
from adapters.guarded_commerce import GuardedCommerce
from adapters.guarded_crm import GuardedCrm
from adapters.guarded_payment import GuardedPayments
from adapters.http.stripe import StripePayments
from adapters.http.webhook_sender import HttpWebhookSender
from adapters.memory.api_keys import InMemoryApiKeys
from adapters.memory.circuit_board import InMemoryCircuitBoard
from adapters.memory.delivery_log import InMemoryDeadLetters, InMemoryDeliveryLog
from adapters.memory.operations_reader import InMemoryOperationsReader
from adapters.memory.order_lookup import InMemoryOrderLookup
from adapters.memory.outbox_store import InMemoryOutboxStore
from adapters.memory.relay_minutes import InMemoryRelayMinutes
from adapters.memory.remote import InMemoryPayments
from adapters.memory.views import InMemoryViewReader, InMemoryViewStore
from adapters.memory.webhook_subscriptions import InMemoryWebhookSubscriptions
from adapters.message_codec import MsgspecCodec
from adapters.simulators.payment import SimulatedPayments
from adapters.sql.api_keys import SqlApiKeys
from adapters.sql.circuit_board import SqlCircuitBoard
from adapters.sql.delivery_log import SqlDeadLetters, SqlDeliveryLog
from adapters.sql.event_feed import SqlEventFeed
from adapters.sql.operations_reader import SqlOperationsReader
from adapters.sql.order_lookup import SqlOrderLookup
from adapters.sql.outbox_store import SqlOutboxStore
from adapters.sql.relay_minutes import SqlRelayMinutes
from adapters.sql.retention import SqlRetentionStore
from adapters.sql.view_reader import SqlViewReader
from adapters.sql.view_store import SqlViewStore
from adapters.sql.webhook_subscriptions import SqlWebhookAudience, SqlWebhookSubscriptions
from adapters.webhook_commerce import ThroughWebhooks
from ports.api_keys import ApiKeyStore
from ports.audience import Audience
from ports.broker import Publisher
from ports.circuits import CircuitBoard
from ports.commerce import CommercePort
from ports.crm import CrmPort
from ports.delivery_log import DeadLetterStore, DeliveryLog
from ports.event_feed import EventFeed
from ports.operations import OperationsReader
from ports.order_lookup import OrderLookup
from ports.outbox import MessageCodec, OutboxStore
from ports.payment import PaymentPort
from ports.relay_minutes import RelayMinutes
from ports.retention import RetentionStore
from ports.views import ViewReader, ViewStore
from ports.webhooks import WebhookSender, WebhookSubscriptions


def outbox_stores(memory: InMemoryOutboxStore, sql: SqlOutboxStore) -> list[OutboxStore]:
    return [memory, sql]


def delivery_logs(memory: InMemoryDeliveryLog, sql: SqlDeliveryLog) -> list[DeliveryLog]:
    return [memory, sql]


def dead_letter_stores(memory: InMemoryDeadLetters, sql: SqlDeadLetters) -> list[DeadLetterStore]:
    return [memory, sql]


def relay_minutes(memory: InMemoryRelayMinutes, sql: SqlRelayMinutes) -> list[RelayMinutes]:
    return [memory, sql]


def view_stores(memory: InMemoryViewStore, sql: SqlViewStore) -> list[ViewStore]:
    return [memory, sql]


def view_readers(memory: InMemoryViewReader, sql: SqlViewReader) -> list[ViewReader]:
    return [memory, sql]


def operations_readers(
    memory: InMemoryOperationsReader, sql: SqlOperationsReader
) -> list[OperationsReader]:
    return [memory, sql]


def order_lookups(memory: InMemoryOrderLookup, sql: SqlOrderLookup) -> list[OrderLookup]:
    return [memory, sql]


def codecs(msgspec: MsgspecCodec) -> list[MessageCodec]:
    return [msgspec]


def audiences(memory: InMemoryWebhookSubscriptions, sql: SqlWebhookAudience) -> list[Audience]:
    return [memory, sql]


def retention_stores(sql: SqlRetentionStore) -> list[RetentionStore]:
    return [sql]


def publishers(dramatiq: DramatiqPublisher) -> list[Publisher]:
    return [dramatiq]


def payments(
    memory: InMemoryPayments, simulator: SimulatedPayments, stripe: StripePayments
) -> list[PaymentPort]:
    return [memory, simulator, stripe]


def circuit_boards(memory: InMemoryCircuitBoard, sql: SqlCircuitBoard) -> list[CircuitBoard]:
    return [memory, sql]


def guarded_remotes(
    payments: GuardedPayments, crm: GuardedCrm, commerce: GuardedCommerce
) -> tuple[PaymentPort, CrmPort, CommercePort]:
    return payments, crm, commerce


def event_feeds(sql: SqlEventFeed) -> list[EventFeed]:
    return [sql]


def webhook_subscription_stores(sql: SqlWebhookSubscriptions) -> list[WebhookSubscriptions]:
    return [sql]


def webhook_senders(http: HttpWebhookSender) -> list[WebhookSender]:
    return [http]


def commerce_targets(webhooks: ThroughWebhooks) -> list[CommercePort]:
    return [webhooks]


def api_key_stores(memory: InMemoryApiKeys, sql: SqlApiKeys) -> list[ApiKeyStore]:
    return [memory, sql]

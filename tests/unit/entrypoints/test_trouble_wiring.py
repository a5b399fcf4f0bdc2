"""The container tells the order's timeline of the trouble of the consumers that call remote
systems, and of no other (PRODUCT.md §8.3): no loop, and no secret in what it records."""

from __future__ import annotations

from domain.events import EVENT_TYPES, IntegrationEvent
from entrypoints.container import CALLING_REMOTES, CONSUMERS, build_container
from entrypoints.settings import Settings
from read_models.projector import PROJECTION

TROUBLE_EVENTS = [n for n, cls in EVENT_TYPES.items() if issubclass(cls, IntegrationEvent)]


def test_the_consumers_that_call_remotes_are_watched_and_the_projection_and_hub_are_not() -> None:
    watched = set(CALLING_REMOTES)

    assert watched == {"fulfilment", "returns"}
    assert watched.issubset(CONSUMERS.names)
    assert PROJECTION not in watched


def test_only_the_projection_hears_of_trouble() -> None:
    assert len(TROUBLE_EVENTS) == 3
    for event_type in TROUBLE_EVENTS:
        assert CONSUMERS.consumers_of(event_type) == [PROJECTION]


def test_the_delivery_records_trouble_with_the_settings_secrets_taken_out() -> None:
    settings = Settings(
        database_url="sqlite+aiosqlite:///:memory:",
        erp_api_key="erp-key-0123456789",
        stripe_api_key="sk_test_abcdef",
    )
    reporter = build_container(settings).trouble_reporter()

    summary = reporter.summary(
        "RemoteUnavailable: sent erp-key-0123456789 and sk_test_abcdef to "
        "https://user:hunter2@erp.example/orders\nTraceback (most recent call last): ..."
    )

    assert summary == "RemoteUnavailable: sent *** and *** to https://user:***@erp.example/orders"
    assert len(reporter.summary("x" * 1000)) == 200

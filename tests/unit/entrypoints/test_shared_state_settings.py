"""Where rate-limit counters and console sessions live: memory on the embedded defaults, Redis
whenever `BROKER_URL` or `RATE_LIMIT_STORAGE` names one (PRODUCT.md §8.7)."""

from __future__ import annotations

import pytest
from litestar.stores.memory import MemoryStore

from entrypoints.config_report import config_report
from entrypoints.http.console.session_store import NAMESPACE, SharedSessionStore, session_store
from entrypoints.settings import Settings, SettingsError

BROKER = "redis://127.0.0.1:6379/3"
LIMITS = "redis://127.0.0.1:6379/4"


@pytest.mark.parametrize(
    ("env", "counters", "sessions"),
    [
        ({}, "memory://", "memory://"),
        ({"BROKER_URL": BROKER}, BROKER, BROKER),
        ({"BROKER_URL": "amqp://guest:guest@127.0.0.1/"}, "memory://", "memory://"),
        (
            {"BROKER_URL": "amqp://guest:guest@127.0.0.1/", "RATE_LIMIT_STORAGE": LIMITS},
            LIMITS,
            LIMITS,
        ),
        ({"BROKER_URL": BROKER, "RATE_LIMIT_STORAGE": LIMITS}, LIMITS, LIMITS),
        ({"BROKER_URL": BROKER, "RATE_LIMIT_STORAGE": "memory://"}, "memory://", BROKER),
    ],
    ids=[
        "embedded",
        "redis-broker",
        "rabbitmq",
        "rabbitmq-redis-limits",
        "both",
        "limits-kept-in-memory",
    ],
)
def test_counters_and_sessions_go_to_the_redis_the_settings_name(
    env: dict[str, str], counters: str, sessions: str
) -> None:
    settings = Settings.from_env(env)
    assert (settings.rate_limit_url(), settings.session_store_url()) == (counters, sessions)


def test_a_rate_limit_storage_that_is_neither_memory_nor_redis_is_refused() -> None:
    with pytest.raises(SettingsError, match="RATE_LIMIT_STORAGE must be memory:// or redis://"):
        Settings.from_env({"RATE_LIMIT_STORAGE": "memcached://127.0.0.1"})


def test_sessions_are_kept_in_memory_or_in_redis_under_their_namespace() -> None:
    assert isinstance(session_store("memory://"), MemoryStore)
    shared = session_store("redis://127.0.0.1:1/1")  # nothing listens there: nothing connects yet
    assert isinstance(shared, SharedSessionStore)
    assert shared.namespace == NAMESPACE == "orderhub:console"


def test_the_configuration_says_where_counters_and_sessions_live() -> None:
    embedded = config_report(Settings.from_env({}))
    assert "rate-limit counters: memory://, this process's own" in embedded
    assert "console sessions: memory://, this process's own" in embedded
    shared = config_report(Settings.from_env({"BROKER_URL": "redis://:pw-5e1@127.0.0.1:6379/3"}))
    assert "RATE_LIMIT_STORAGE" in shared
    assert "(not set: redis://:***@127.0.0.1:6379/3, shared by every API process)" in shared
    assert "console sessions: redis://:***@127.0.0.1:6379/3, shared by every API process" in shared
    assert "pw-5e1" not in shared

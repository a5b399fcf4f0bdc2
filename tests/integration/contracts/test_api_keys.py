"""The `ApiKeyStore` contract: keys created, listed, revoked, rotated and expired, and which of a
key's secrets are accepted when, on the in-memory store, SQLite and PostgreSQL alike. The SQL
store's lookup cache runs on the test's clock, so a test moves past it by moving the clock."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from adapters.clock import FixedClock
from adapters.key_secrets import key_hash
from adapters.memory.api_keys import InMemoryApiKeys
from adapters.sql.api_keys import SqlApiKeys
from ports.api_keys import ApiKeyStore, RetiredKey, Role, Source, UnknownKey

#: Longer than the SQL store's lookup cache (4 s): a revocation has been seen after it.
PAST_THE_CACHE = timedelta(seconds=5)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def keys(request: pytest.FixtureRequest, clock: FixedClock) -> ApiKeyStore:
    if request.param == "memory":
        return InMemoryApiKeys(clock)
    engine = request.getfixturevalue(f"{request.param}_engine")
    return SqlApiKeys(engine, clock, timer=lambda: clock.now().timestamp())


async def test_a_new_key_is_accepted_and_listed_without_its_secret(
    keys: ApiKeyStore, clock: FixedClock
) -> None:
    principal, secret = await keys.create(Role.SYSTEM, None, "wms", frozenset({Source.WAREHOUSE}))

    assert await keys.authenticate(secret) == principal
    assert principal.generation == 0
    assert await keys.is_active(principal.key_id, 0)
    [record] = await keys.list_keys()
    assert (record.key_id, record.role, record.channel, record.sources, record.label) == (
        principal.key_id, Role.SYSTEM, None, frozenset({Source.WAREHOUSE}), "wms",
    )  # fmt: skip
    assert (record.created_at, record.expires_at, record.revoked_at) == (clock.now(), None, None)
    assert (record.generation, record.grace_until, record.state(clock.now())) == (0, None, "active")
    assert secret not in repr(record)
    assert key_hash(secret) not in repr(record)


async def test_keys_are_listed_oldest_first(keys: ApiKeyStore, clock: FixedClock) -> None:
    first, _ = await keys.create(Role.AGENT, None, "desk")
    clock.advance(MINUTE)
    second, _ = await keys.create(Role.CHANNEL, "web", None)
    assert [r.key_id for r in await keys.list_keys()] == [first.key_id, second.key_id]


async def test_a_revoked_key_is_refused_and_its_sessions_end(
    keys: ApiKeyStore, clock: FixedClock
) -> None:
    principal, secret = await keys.create(Role.AGENT, None, "desk")
    assert await keys.authenticate(secret) is not None

    revoked = await keys.revoke(principal.key_id)

    assert revoked.revoked_at == clock.now()
    assert revoked.state(clock.now()) == "revoked"
    assert not await keys.is_active(principal.key_id, 0)  # at once: asked of the store
    clock.advance(PAST_THE_CACHE)
    assert await keys.authenticate(secret) is None


async def test_revoking_twice_keeps_the_first_revocation(
    keys: ApiKeyStore, clock: FixedClock
) -> None:
    principal, _ = await keys.create(Role.AGENT, None, None)
    first = await keys.revoke(principal.key_id)
    clock.advance(MINUTE)
    assert (await keys.revoke(principal.key_id)).revoked_at == first.revoked_at


async def test_an_unknown_id_cannot_be_revoked_rotated_or_active(keys: ApiKeyStore) -> None:
    nobody = uuid.uuid4()
    with pytest.raises(UnknownKey):
        await keys.revoke(nobody)
    with pytest.raises(UnknownKey):
        await keys.rotate(nobody, MINUTE)
    assert not await keys.is_active(nobody, 0)


async def test_an_expired_key_is_refused_at_once_even_where_a_lookup_was_cached(
    keys: ApiKeyStore, clock: FixedClock
) -> None:
    principal, secret = await keys.create(Role.CHANNEL, "web", None, expires_in=MINUTE)
    assert await keys.authenticate(secret) == principal  # cached by the SQL store
    assert [r.expires_at for r in await keys.list_keys()] == [clock.now() + MINUTE]

    clock.advance(MINUTE)

    assert await keys.authenticate(secret) is None
    assert not await keys.is_active(principal.key_id, 0)
    assert [r.state(clock.now()) for r in await keys.list_keys()] == ["expired"]


async def test_a_rotated_key_keeps_its_id_and_scope_and_the_old_secret_lasts_its_grace(
    keys: ApiKeyStore, clock: FixedClock
) -> None:
    principal, old = await keys.create(Role.CHANNEL, "web", "shop")
    assert await keys.authenticate(old) is not None

    rotated, new = await keys.rotate(principal.key_id, MINUTE)

    assert new != old
    assert (rotated.key_id, rotated.role, rotated.channel, rotated.actor) == (
        principal.key_id, principal.role, principal.channel, principal.actor,
    )  # fmt: skip
    assert rotated.generation == 1
    assert await keys.authenticate(new) == rotated
    assert (await keys.authenticate(old)) == principal  # generation 0, within its grace
    assert await keys.is_active(principal.key_id, 0)
    [record] = await keys.list_keys()
    assert (record.generation, record.grace_until) == (1, clock.now() + MINUTE)

    clock.advance(MINUTE)

    assert await keys.authenticate(old) is None  # at the grace's end, cached or not
    assert not await keys.is_active(principal.key_id, 0)
    assert await keys.authenticate(new) == rotated
    assert await keys.is_active(principal.key_id, 1)


async def test_a_rotation_with_no_grace_refuses_the_old_secret_at_once(
    keys: ApiKeyStore, clock: FixedClock
) -> None:
    principal, old = await keys.create(Role.AGENT, None, None)

    _, new = await keys.rotate(principal.key_id, timedelta(0))

    assert await keys.authenticate(old) is None
    assert not await keys.is_active(principal.key_id, 0)
    assert await keys.authenticate(new) is not None
    assert [r.grace_until for r in await keys.list_keys()] == [None]


async def test_a_second_rotation_ends_the_first_secret_and_graces_the_second(
    keys: ApiKeyStore, clock: FixedClock
) -> None:
    principal, first = await keys.create(Role.AGENT, None, None)
    _, second = await keys.rotate(principal.key_id, MINUTE)
    clock.advance(timedelta(seconds=10))

    _, third = await keys.rotate(principal.key_id, MINUTE)

    assert await keys.authenticate(first) is None
    assert (await keys.authenticate(second) or principal).generation == 1
    assert (await keys.authenticate(third) or principal).generation == 2
    assert not await keys.is_active(principal.key_id, 0)
    assert await keys.is_active(principal.key_id, 1)


async def test_a_rotation_keeps_the_expiry_unless_given_a_new_one(
    keys: ApiKeyStore, clock: FixedClock
) -> None:
    principal, _ = await keys.create(Role.AGENT, None, None, expires_in=10 * MINUTE)
    await keys.rotate(principal.key_id, MINUTE)
    assert [r.expires_at for r in await keys.list_keys()] == [clock.now() + 10 * MINUTE]

    _, secret = await keys.rotate(principal.key_id, MINUTE, expires_in=60 * MINUTE)

    assert [r.expires_at for r in await keys.list_keys()] == [clock.now() + 60 * MINUTE]
    clock.advance(30 * MINUTE)  # past the first expiry, within the new one
    assert await keys.authenticate(secret) is not None


async def test_a_revoked_or_expired_key_cannot_be_rotated_back(
    keys: ApiKeyStore, clock: FixedClock
) -> None:
    revoked, _ = await keys.create(Role.AGENT, None, None)
    await keys.revoke(revoked.key_id)
    expiring, _ = await keys.create(Role.AGENT, None, None, expires_in=MINUTE)
    clock.advance(MINUTE)

    with pytest.raises(RetiredKey, match="revoked"):
        await keys.rotate(revoked.key_id, MINUTE)
    with pytest.raises(RetiredKey, match="expired"):
        await keys.rotate(expiring.key_id, MINUTE)
    assert [r.generation for r in await keys.list_keys()] == [0, 0]


async def test_a_negative_grace_is_refused(keys: ApiKeyStore) -> None:
    principal, _ = await keys.create(Role.AGENT, None, None)
    with pytest.raises(ValueError, match="grace"):
        await keys.rotate(principal.key_id, timedelta(seconds=-1))

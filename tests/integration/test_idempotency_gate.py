"""Idempotency keys behave the same on the fakes, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from adapters.clock import FixedClock
from adapters.ids import RandomIds
from adapters.memory.idempotency import InMemoryIdempotencyGate
from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.sql.idempotency import SqlIdempotencyGate
from adapters.sql.unit_of_work import SqlUnitOfWork
from ports.idempotency import ClaimLost, ClaimState, IdempotencyGate, StoredResponse
from ports.unit_of_work import CommandMeta, UnitOfWork

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RETENTION, LEASE = timedelta(hours=24), timedelta(seconds=30)
META = CommandMeta(actor="key:web", correlation_id="c")
CREATED = StoredResponse(status=201, headers={"location": "/v1/orders/1"}, body=b'{"id": "1"}')


class Keys:
    def __init__(self, gate: IdempotencyGate, new_uow: object, name: str) -> None:
        self.gate, self._new_uow, self.name = gate, new_uow, name

    def uow(self) -> UnitOfWork:
        return self._new_uow()  # type: ignore[operator,no-any-return]

    async def complete(self, key: str, token: str | None) -> None:
        assert token is not None
        async with self.uow() as uow:
            uow.idempotency.complete("key:web", key, token, CREATED)
            await uow.commit()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def keys(request: pytest.FixtureRequest) -> Keys:
    clock, ids = FixedClock(), RandomIds()
    if request.param == "memory":
        store = InMemoryStore()
        return Keys(
            InMemoryIdempotencyGate(store, RETENTION, LEASE),
            lambda: InMemoryUnitOfWork(store, META, clock, ids),
            "memory",
        )
    engine = request.getfixturevalue(f"{request.param}_engine")
    return Keys(
        SqlIdempotencyGate(engine, RETENTION, LEASE),
        lambda: SqlUnitOfWork(engine, META, clock, ids),
        request.param,
    )


async def test_a_completed_request_is_replayed_to_the_same_request(keys: Keys) -> None:
    claim = await keys.gate.claim("key:web", "k1", "fp-a", T0)
    assert claim.state is ClaimState.CLAIMED
    await keys.complete("k1", claim.token)
    again = await keys.gate.claim("key:web", "k1", "fp-a", T0 + timedelta(minutes=5))
    assert (again.state, again.response) == (ClaimState.REPLAY, CREATED)


async def test_a_different_request_with_a_used_key_is_a_mismatch(keys: Keys) -> None:
    claim = await keys.gate.claim("key:web", "k1", "fp-a", T0)
    assert (await keys.gate.claim("key:web", "k1", "fp-b", T0)).state is ClaimState.MISMATCH
    await keys.complete("k1", claim.token)
    assert (await keys.gate.claim("key:web", "k1", "fp-b", T0)).state is ClaimState.MISMATCH


async def test_the_same_request_while_the_first_runs_is_in_progress(keys: Keys) -> None:
    await keys.gate.claim("key:web", "k1", "fp-a", T0)
    assert (await keys.gate.claim("key:web", "k1", "fp-a", T0)).state is ClaimState.IN_PROGRESS


async def test_keys_belong_to_their_principal(keys: Keys) -> None:
    await keys.gate.claim("key:web", "k1", "fp-a", T0)
    assert (await keys.gate.claim("key:pos", "k1", "fp-b", T0)).state is ClaimState.CLAIMED


async def test_a_released_key_can_be_used_again(keys: Keys) -> None:
    claim = await keys.gate.claim("key:web", "k1", "fp-a", T0)
    assert claim.token is not None
    await keys.gate.release("key:web", "k1", claim.token)
    assert (await keys.gate.claim("key:web", "k1", "fp-b", T0)).state is ClaimState.CLAIMED


async def test_a_dead_request_s_release_leaves_the_claim_that_took_its_key_over(
    keys: Keys,
) -> None:
    dead = await keys.gate.claim("key:web", "k1", "fp-a", T0)
    later = T0 + LEASE + timedelta(seconds=1)
    retry = await keys.gate.claim("key:web", "k1", "fp-a", later)
    assert dead.token is not None
    assert retry.state is ClaimState.CLAIMED
    await keys.gate.release("key:web", "k1", dead.token)  # the first request fails at last
    # the retry still holds the key: a third request waits, and the retry completes
    assert (await keys.gate.claim("key:web", "k1", "fp-a", later)).state is ClaimState.IN_PROGRESS
    await keys.complete("k1", retry.token)
    replay = await keys.gate.claim("key:web", "k1", "fp-a", later)
    assert (replay.state, replay.response) == (ClaimState.REPLAY, CREATED)


async def test_a_dead_request_s_claim_is_taken_over_after_its_lease(keys: Keys) -> None:
    dead = await keys.gate.claim("key:web", "k1", "fp-a", T0)
    retry = await keys.gate.claim("key:web", "k1", "fp-a", T0 + LEASE + timedelta(seconds=1))
    assert retry.state is ClaimState.CLAIMED
    with pytest.raises(ClaimLost):
        await keys.complete("k1", dead.token)
    await keys.complete("k1", retry.token)


async def test_a_key_past_its_retention_is_a_new_key(keys: Keys) -> None:
    claim = await keys.gate.claim("key:web", "k1", "fp-a", T0)
    await keys.complete("k1", claim.token)
    later = T0 + RETENTION + timedelta(seconds=1)
    assert (await keys.gate.claim("key:web", "k1", "fp-b", later)).state is ClaimState.CLAIMED
    assert await keys.gate.purge_expired(later + RETENTION + timedelta(seconds=1)) == 1


async def test_concurrent_claims_of_one_key_let_exactly_one_run(keys: Keys) -> None:
    claims = await asyncio.gather(
        *(keys.gate.claim("key:web", "k1", "fp-a", T0) for _ in range(20))
    )
    assert Counter(c.state for c in claims) == {ClaimState.CLAIMED: 1, ClaimState.IN_PROGRESS: 19}

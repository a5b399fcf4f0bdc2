"""The `DeliveryLog` and `DeadLetterStore` contracts: our own count of every delivery's attempts,
and the parked messages, on the in-memory store, SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from domain import commands as c
from ports.delivery_log import Attempt, DeadLetter, DeadLetterFilter, Predecessor
from ports.outbox import Message
from tests.integration.backends import Backend
from tests.integration.contracts.histories import attempt, event_id, overdue, place, relay

SECOND = timedelta(seconds=1)
TIMEOUT = timedelta(seconds=30)
NIL = UUID(int=0)


async def one_order_published(
    backend: Backend, consumers: tuple[str, ...] = ("erp",)
) -> list[Message]:
    """A placed order's two events, published to `consumers` and due in 30 s (the stock
    snapshot before them is published to no one)."""
    await backend.stock("MUG", "dc-east", 10)
    await relay(backend, (), backend.clock.now())
    await place(backend)
    return await relay(backend, consumers, backend.clock.now() + TIMEOUT)


async def one_order_relayed(backend: Backend, consumers: tuple[str, ...] = ("erp",)) -> list[UUID]:
    """The event ids of `one_order_published`."""
    return [event_id(m) for m in await one_order_published(backend, consumers)]


async def test_each_start_counts_one_more_attempt(backend: Backend) -> None:
    placed, _ = await one_order_relayed(backend)

    attempts = [await attempt(backend, placed, "erp") for _ in range(3)]

    assert attempts == [Attempt(n, finished=False) for n in (1, 2, 3)]


async def test_a_delivery_never_recorded_starts_at_attempt_one_every_time(
    backend: Backend,
) -> None:
    unknown = uuid4()

    assert await attempt(backend, unknown, "erp") == Attempt(1, finished=False)
    assert await attempt(backend, unknown, "erp") == Attempt(1, finished=False)


async def test_attempts_are_counted_per_consumer(backend: Backend) -> None:
    placed, _ = await one_order_relayed(backend, ("erp", "crm"))

    await attempt(backend, placed, "erp")
    await attempt(backend, placed, "erp")

    assert await attempt(backend, placed, "crm") == Attempt(1, finished=False)


async def test_a_finished_delivery_starts_as_finished(backend: Backend) -> None:
    placed, reserved = await one_order_relayed(backend)
    await attempt(backend, placed, "erp")

    await backend.delivery_log.finish(placed, "erp", backend.clock.now())

    assert (await attempt(backend, placed, "erp")).finished
    assert not (await attempt(backend, reserved, "erp")).finished


async def test_finishing_with_covers_finishes_the_covered_deliveries_too(
    backend: Backend,
) -> None:
    await backend.stock("MUG", "dc-east", 10)
    order_id = await place(backend)
    await backend.run(c.HoldOrder(order_id=order_id, reason="address check"))
    messages = await relay(backend, ["projection"], backend.clock.now() + TIMEOUT)
    snapshot, placed, reserved, held = (event_id(m) for m in messages)

    await backend.delivery_log.finish(held, "projection", backend.clock.now(), [placed, reserved])

    for done in (held, placed, reserved):
        assert (await attempt(backend, done, "projection")).finished
    assert not (await attempt(backend, snapshot, "projection")).finished


async def test_finishing_twice_changes_nothing(backend: Backend) -> None:
    placed, reserved = await one_order_relayed(backend)
    due = backend.clock.now() + TIMEOUT
    await backend.delivery_log.postpone(placed, "erp", due, "TimeoutError: ERP slow")

    await backend.delivery_log.finish(placed, "erp", backend.clock.now())
    counts = await backend.operations.delivery_counts()
    backend.clock.advance(timedelta(minutes=1))
    await backend.delivery_log.finish(placed, "erp", backend.clock.now())

    assert await backend.operations.delivery_counts() == counts
    assert (counts.pending, counts.failing) == (1, 0)  # finishing clears the error
    assert await overdue(backend, due + timedelta(days=1)) == [("erp", reserved)]
    assert (await attempt(backend, placed, "erp")).finished


async def test_waiting_gives_the_attempt_back_and_moves_the_due_time(backend: Backend) -> None:
    placed, _ = await one_order_relayed(backend)
    first_due = backend.clock.now() + TIMEOUT
    await attempt(backend, placed, "erp")
    await attempt(backend, placed, "erp")
    later = first_due + timedelta(minutes=5)

    await backend.delivery_log.wait(placed, "erp", later)

    assert ("erp", placed) not in await overdue(backend, first_due + SECOND)
    assert ("erp", placed) in await overdue(backend, later + SECOND)
    assert await attempt(backend, placed, "erp") == Attempt(2, finished=False)


async def test_postponing_moves_the_due_time_and_records_the_error(backend: Backend) -> None:
    placed, reserved = await one_order_relayed(backend)
    first_due = backend.clock.now() + TIMEOUT
    later = first_due + timedelta(minutes=5)
    await attempt(backend, placed, "erp")

    await backend.delivery_log.postpone(placed, "erp", later, "RemoteUnavailable: ERP down")

    assert await overdue(backend, first_due + SECOND) == [("erp", reserved)]
    assert ("erp", placed) in await overdue(backend, later + SECOND)
    counts = await backend.operations.delivery_counts()
    assert (counts.pending, counts.failing, counts.dead_letters) == (2, 1, 0)
    assert await attempt(backend, placed, "erp") == Attempt(2, finished=False)


async def test_the_unfinished_predecessor_is_the_earliest_unfinished_event_of_the_aggregate(
    backend: Backend,
) -> None:
    await backend.stock("MUG", "dc-east", 10)
    start = backend.clock.now()
    order_id = await place(backend)
    other_order = await place(backend)
    first_due = start + TIMEOUT
    first = await relay(backend, ["erp", "crm"], first_due)
    placed, reserved = (event_id(m) for m in first if m["aggregate_id"] == str(order_id))
    await backend.run(c.HoldOrder(order_id=order_id, reason="address check"))
    [held] = [event_id(m) for m in await relay(backend, ["erp", "crm"], start + 2 * TIMEOUT)]
    await backend.run(c.ResumeOrder(order_id=order_id))
    [resumed] = [event_id(m) for m in await relay(backend, ["erp", "crm"], start + 3 * TIMEOUT)]
    log = backend.delivery_log
    await attempt(backend, placed, "erp")

    assert await log.unfinished_predecessor(resumed, "erp") == Predecessor(1, first_due)
    assert await log.unfinished_predecessor(placed, "erp") is None  # nothing earlier
    await log.finish(placed, "erp", backend.clock.now())
    assert await log.unfinished_predecessor(resumed, "erp") == Predecessor(0, first_due)
    assert await log.unfinished_predecessor(reserved, "erp") is None  # later ones don't count
    await log.bury(
        next(m for m in first if event_id(m) == reserved), "erp", 1, "permanent",
        "RemoteRejected: no", backend.clock.now(),
    )  # fmt: skip
    assert await log.unfinished_predecessor(resumed, "erp") == Predecessor(0, start + 2 * TIMEOUT)
    await log.finish(held, "erp", backend.clock.now())
    # The other order's events, the crm's deliveries and the stock's are all still unfinished.
    assert await log.unfinished_predecessor(resumed, "erp") is None
    assert await log.unfinished_predecessor(resumed, "crm") == Predecessor(0, first_due)
    [other_reserved] = [
        event_id(m)
        for m in first
        if m["aggregate_id"] == str(other_order) and m["aggregate_version"] == 2
    ]
    assert await log.unfinished_predecessor(other_reserved, "erp") == Predecessor(0, first_due)


async def test_an_event_without_a_delivery_record_has_no_predecessor(backend: Backend) -> None:
    assert await backend.delivery_log.unfinished_predecessor(uuid4(), "erp") is None


async def test_burying_makes_a_dead_letter_and_finishes_the_delivery(backend: Backend) -> None:
    await backend.stock("MUG", "dc-east", 10)
    order_id = await place(backend)
    messages = await relay(backend, ["erp"], backend.clock.now() + TIMEOUT)
    placed = next(m for m in messages if m["event_type"] == "OrderPlaced")
    await attempt(backend, event_id(placed), "erp")
    await attempt(backend, event_id(placed), "erp")
    now = backend.clock.now()

    await backend.delivery_log.bury(
        placed, "erp", 2, "retries_exhausted", "RemoteUnavailable: ERP down", now
    )

    [letter] = await backend.dead_letters.page(10, None)
    assert letter == DeadLetter(
        id=letter.id, message_id=placed["event_id"], consumer="erp", event_type="OrderPlaced",
        aggregate_id=str(order_id), attempts=2, reason="retries_exhausted",
        error="RemoteUnavailable: ERP down", payload=None, died_at=now, replayed_at=None,
    )  # fmt: skip
    assert await backend.dead_letters.get(letter.id) == letter
    assert (await attempt(backend, event_id(placed), "erp")).finished
    counts = await backend.operations.delivery_counts()
    assert (counts.dead_letters, counts.pending) == (1, len(messages) - 1)


async def test_a_message_without_a_readable_event_id_is_kept_under_the_nil_id(
    backend: Backend,
) -> None:
    placed, _ = await one_order_relayed(backend)
    now = backend.clock.now()

    await backend.delivery_log.bury(
        {"event_id": "not-a-uuid", "event_type": "OrderPlaced"}, "erp", 1, "undecodable",
        "UndecodableMessage: event_id", now,
    )  # fmt: skip
    await backend.delivery_log.bury({}, "erp", 1, "undecodable", "UndecodableMessage: {}", now)

    letters = await backend.dead_letters.page(10, None)
    assert sorted((d.message_id, d.event_type, d.aggregate_id) for d in letters) == [
        (str(NIL), "?", "?"),
        (str(NIL), "OrderPlaced", "?"),
    ]
    assert not (await attempt(backend, placed, "erp")).finished


async def bury_five(backend: Backend) -> list[DeadLetter]:
    """Five dead letters: three that died at one moment, two a minute later."""
    await backend.stock("MUG", "dc-east", 10)
    for _ in range(2):
        await place(backend)
    messages = await relay(backend, ["erp"], backend.clock.now() + TIMEOUT)
    for i, message in enumerate(messages):
        if i == 3:
            backend.clock.advance(timedelta(minutes=1))
        await backend.delivery_log.bury(
            message, "erp", 1, "permanent", f"RemoteRejected: {i}", backend.clock.now()
        )
    return await backend.dead_letters.page(100, None)


async def test_dead_letters_page_newest_first_by_their_keyset(backend: Backend) -> None:
    everything = await bury_five(backend)

    assert len(everything) == 5
    assert everything == sorted(everything, key=lambda d: (d.died_at, d.id), reverse=True)
    assert {d.error for d in everything[:2]} == {"RemoteRejected: 3", "RemoteRejected: 4"}
    pages, after = [], None
    for _ in range(5):  # bounded: three pages of two, then nothing
        page = await backend.dead_letters.page(2, after)
        if not page:
            break
        pages.append(page)
        after = (page[-1].died_at, page[-1].id)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [d for p in pages for d in p] == everything


async def test_an_unknown_dead_letter_is_none(backend: Backend) -> None:
    assert await backend.dead_letters.get(uuid4()) is None


async def test_a_revived_delivery_starts_anew_and_is_due_at_the_given_time(
    backend: Backend,
) -> None:
    message, other = await one_order_published(backend)
    placed, reserved = event_id(message), event_id(other)
    for _ in range(3):
        await attempt(backend, placed, "erp")
    await backend.delivery_log.bury(
        message, "erp", 3, "retries_exhausted", "TimeoutError: ERP slow", backend.clock.now()
    )
    [letter] = await backend.dead_letters.page(10, None)
    backend.clock.advance(timedelta(hours=2))
    now = backend.clock.now()
    due = now + TIMEOUT

    await backend.dead_letters.revive(letter, now, due)

    assert ("erp", placed) not in await overdue(backend, due)
    assert ("erp", placed) in await overdue(backend, due + SECOND)
    assert await attempt(backend, placed, "erp") == Attempt(1, finished=False)
    assert (await backend.dead_letters.get(letter.id)) == replace(letter, replayed_at=now)
    counts = await backend.operations.delivery_counts()
    assert (counts.dead_letters, counts.pending) == (1, 2)  # the letter is kept, marked replayed
    assert not (await attempt(backend, reserved, "erp")).finished


async def test_a_revived_delivery_waits_out_a_new_outage_from_its_own_start(
    backend: Backend,
) -> None:
    message, _ = await one_order_published(backend)
    placed, log, start = event_id(message), backend.delivery_log, backend.clock.now()
    await log.ride_out(placed, "erp", start, "erp")
    await log.postpone(placed, "erp", start + TIMEOUT, "CircuitOpen: erp")
    hours_later = start + timedelta(hours=7)
    await log.bury(message, "erp", 0, "outage_outlasted_horizon", "away", hours_later)
    [letter] = await backend.dead_letters.page(10, None)

    await backend.dead_letters.revive(letter, hours_later, hours_later + TIMEOUT)

    later = hours_later + timedelta(minutes=5)
    assert await log.ride_out(placed, "erp", later, "erp") == later  # not the old outage's start


async def test_marking_a_letter_replayed_keeps_it_with_the_time(backend: Backend) -> None:
    letters = await bury_five(backend)
    now = backend.clock.now() + timedelta(hours=1)

    await backend.dead_letters.mark_replayed(letters[2].id, now)

    after = await backend.dead_letters.page(100, None)
    assert [d.replayed_at for d in after] == [None, None, now, None, None]
    assert after[2] == replace(letters[2], replayed_at=now)


async def test_riding_out_an_outage_gives_the_attempt_back_and_keeps_its_first_moment(
    backend: Backend,
) -> None:
    placed, _ = await one_order_relayed(backend)
    log, start = backend.delivery_log, backend.clock.now()
    await attempt(backend, placed, "erp")

    assert await log.ride_out(placed, "erp", start, "erp") == start
    assert await attempt(backend, placed, "erp") == Attempt(1, finished=False)  # the same again
    later = start + timedelta(minutes=10)
    assert await log.ride_out(placed, "erp", later, "erp") == start  # the outage began at the first
    assert await log.ride_out(placed, "erp", later, "erp") == start  # never below zero attempts
    assert await attempt(backend, placed, "erp") == Attempt(1, finished=False)


async def test_riding_out_a_delivery_never_recorded_starts_its_outage_now(
    backend: Backend,
) -> None:
    now = backend.clock.now()

    assert await backend.delivery_log.ride_out(uuid4(), "erp", now, "erp") == now


async def bury_varied(backend: Backend) -> dict[str, DeadLetter]:
    """Four letters of one placed order, a minute apart, by error text: the placed event given
    up by the erp ("E1") then the crm ("C1"), the reserved one by the erp ("E2") then the crm
    ("C2"), each error with characters LIKE would take for wildcards."""
    placed, reserved = await one_order_published(backend, ("erp", "crm"))
    errors = {
        "E1": (placed, "erp", "RemoteRejected: 100% sure the SKU is_unknown"),
        "C1": (placed, "crm", "RemoteRejected: account LOCKED (C:\\crm\\x)"),
        "E2": (reserved, "erp", "TimeoutError: ÉCHEC after 30 s"),
        "C2": (reserved, "crm", "RemoteRejected: 1000 sure, sku isXunknown"),
    }
    for message, consumer, error in errors.values():
        await backend.delivery_log.bury(
            message, consumer, 1, "permanent", error, backend.clock.now()
        )
        backend.clock.advance(timedelta(minutes=1))
    letters = await backend.dead_letters.page(10, None)
    return {name: next(d for d in letters if d.error == e) for name, (_, _, e) in errors.items()}


#: The errors `bury_varied` buries, by the names the filter tests give them.
_NAMES = {
    "RemoteRejected: 100% sure the SKU is_unknown": "E1",
    "RemoteRejected: account LOCKED (C:\\crm\\x)": "C1",
    "TimeoutError: ÉCHEC after 30 s": "E2",
    "RemoteRejected: 1000 sure, sku isXunknown": "C2",
}


async def matching(backend: Backend, limit: int = 100, **where: Any) -> list[str]:
    """The errors' names of what `matching` answers, in its order (one batch)."""
    found = await backend.dead_letters.matching(DeadLetterFilter(**where), limit, None)
    return [_NAMES[d.error] for d in found]


async def test_an_empty_filter_matches_every_letter_not_replayed_oldest_first(
    backend: Backend,
) -> None:
    letters = await bury_varied(backend)
    assert await matching(backend) == ["E1", "C1", "E2", "C2"]

    await backend.dead_letters.mark_replayed(letters["C1"].id, backend.clock.now())

    assert await matching(backend) == ["E1", "E2", "C2"]


async def test_matching_pages_oldest_first_by_its_keyset(backend: Backend) -> None:
    everything = await bury_five(backend)  # three died at one moment: the id breaks the tie
    oldest_first = sorted(everything, key=lambda d: (d.died_at, d.id))
    pages, after = [], None
    for _ in range(5):  # bounded: three pages of two, then nothing
        page = await backend.dead_letters.matching(DeadLetterFilter(), 2, after)
        if not page:
            break
        pages.append(page)
        after = (page[-1].died_at, page[-1].id)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [d for p in pages for d in p] == oldest_first


async def test_matching_by_consumer_and_event_type_is_exact(backend: Backend) -> None:
    await bury_varied(backend)

    assert await matching(backend, consumer="crm") == ["C1", "C2"]
    assert await matching(backend, consumer="er") == []
    assert await matching(backend, event_type="InventoryReserved") == ["E2", "C2"]
    assert await matching(backend, consumer="erp", event_type="OrderPlaced") == ["E1"]
    assert await matching(backend, event_type="orderplaced") == []


async def test_error_contains_ignores_ascii_case_and_takes_wildcards_literally(
    backend: Backend,
) -> None:
    await bury_varied(backend)

    assert await matching(backend, error_contains="remoterejected") == ["E1", "C1", "C2"]
    assert await matching(backend, error_contains="Locked") == ["C1"]
    assert await matching(backend, error_contains="100%") == ["E1"]  # not "1000"
    assert await matching(backend, error_contains="% sure") == ["E1"]
    assert await matching(backend, error_contains="is_unknown") == ["E1"]  # not "isXunknown"
    assert await matching(backend, error_contains="c:\\CRM\\") == ["C1"]
    assert await matching(backend, error_contains="échec") == []  # É is no ASCII letter
    assert await matching(backend, error_contains="ÉCHEC") == ["E2"]
    assert await matching(backend, error_contains="") == ["E1", "C1", "E2", "C2"]


async def test_since_is_inclusive_and_until_exclusive_on_the_time_of_death(
    backend: Backend,
) -> None:
    letters = await bury_varied(backend)
    c1, c2 = letters["C1"].died_at, letters["C2"].died_at

    assert await matching(backend, since=c1) == ["C1", "E2", "C2"]
    assert await matching(backend, until=c1) == ["E1"]
    assert await matching(backend, since=c1, until=c2) == ["C1", "E2"]
    assert await matching(backend, since=c2, until=c2) == []


async def test_matching_by_ids_and_with_every_condition_at_once(backend: Backend) -> None:
    letters = await bury_varied(backend)
    e1, c1, e2 = letters["E1"].id, letters["C1"].id, letters["E2"].id

    assert await matching(backend, ids=(e2, e1, uuid4())) == ["E1", "E2"]
    assert await matching(backend, ids=()) == []
    assert await matching(backend, limit=1, ids=(e2, c1)) == ["C1"]
    assert await matching(
        backend, consumer="erp", event_type="OrderPlaced", error_contains="SKU",
        since=letters["E1"].died_at, until=letters["C2"].died_at, ids=(e1, c1),
    ) == ["E1"]  # fmt: skip


async def paged(backend: Backend, limit: int = 100, **where: Any) -> list[str]:
    """The errors' names of a filtered `page` (newest first, replayed or not), one page."""
    found = await backend.dead_letters.page(limit, None, DeadLetterFilter(**where))
    return [_NAMES[d.error] for d in found]


async def test_a_filtered_page_is_newest_first_and_keeps_replayed_letters(
    backend: Backend,
) -> None:
    letters = await bury_varied(backend)
    await backend.dead_letters.mark_replayed(letters["C1"].id, backend.clock.now())

    assert await paged(backend) == ["C2", "E2", "C1", "E1"]
    assert await paged(backend, consumer="crm") == ["C2", "C1"]  # C1 replayed, still listed
    assert await paged(backend, event_type="InventoryReserved") == ["C2", "E2"]
    assert await paged(backend, error_contains="remoterejected") == ["C2", "C1", "E1"]
    assert await paged(backend, error_contains="100%") == ["E1"]
    assert await paged(backend, error_contains="échec") == []
    c1, c2 = letters["C1"].died_at, letters["C2"].died_at
    assert await paged(backend, since=c1, until=c2) == ["E2", "C1"]
    assert await paged(backend, ids=(letters["E1"].id, letters["C1"].id)) == ["C1", "E1"]


async def test_a_filtered_page_pages_by_its_keyset(backend: Backend) -> None:
    letters = await bury_varied(backend)
    await backend.dead_letters.mark_replayed(letters["E2"].id, backend.clock.now())
    where = DeadLetterFilter(error_contains="e")  # every letter
    pages, after = [], None
    for _ in range(5):  # bounded: two pages of three and one, then nothing
        page = await backend.dead_letters.page(3, after, where)
        if not page:
            break
        pages.append([d.id for d in page])
        after = (page[-1].died_at, page[-1].id)
    newest_first = [letters[n].id for n in ("C2", "E2", "C1", "E1")]
    assert pages == [newest_first[:3], newest_first[3:]]
    by_erp = DeadLetterFilter(consumer="erp")
    [newest] = await backend.dead_letters.page(1, None, by_erp)
    older = await backend.dead_letters.page(5, (newest.died_at, newest.id), by_erp)
    assert (newest.id, [d.id for d in older]) == (letters["E2"].id, [letters["E1"].id])


async def test_a_letter_is_marked_replayed_once(backend: Backend) -> None:
    message, _ = await one_order_published(backend)
    await backend.delivery_log.bury(message, "erp", 1, "permanent", "no", backend.clock.now())
    [letter] = await backend.dead_letters.page(10, None)
    first = backend.clock.now() + timedelta(hours=1)

    assert await backend.dead_letters.revive(letter, first, first)
    assert not await backend.dead_letters.revive(letter, first + SECOND, first + SECOND)
    assert not await backend.dead_letters.mark_replayed(letter.id, first + SECOND)
    assert not await backend.dead_letters.mark_replayed(uuid4(), first)

    assert (await backend.dead_letters.get(letter.id)) == replace(letter, replayed_at=first)
    assert await backend.dead_letters.matching(DeadLetterFilter(), 10, None) == []


LEASE = timedelta(seconds=10)


async def test_a_copy_that_finds_its_delivery_held_neither_runs_nor_counts(
    backend: Backend,
) -> None:
    placed, _ = await one_order_relayed(backend)
    log, now = backend.delivery_log, backend.clock.now()

    running = await log.start(placed, "erp", now, now + LEASE)
    copy = await log.start(placed, "erp", now + SECOND, now + SECOND + LEASE)

    assert running == Attempt(1, finished=False)
    assert copy == Attempt(1, finished=False, running_elsewhere=True)
    assert await attempt(backend, placed, "crm") == Attempt(1, finished=False)  # per consumer


async def test_a_hold_its_worker_stopped_renewing_ends_at_its_time(backend: Backend) -> None:
    placed, _ = await one_order_relayed(backend)
    log, now = backend.delivery_log, backend.clock.now()
    await log.start(placed, "erp", now, now + LEASE)  # then the worker died

    after = await log.start(placed, "erp", now + LEASE, now + 2 * LEASE)

    assert after == Attempt(2, finished=False)  # the crashed attempt counts


async def test_renewing_keeps_the_delivery_held(backend: Backend) -> None:
    placed, _ = await one_order_relayed(backend)
    log, now = backend.delivery_log, backend.clock.now()
    await log.start(placed, "erp", now, now + LEASE)

    await log.renew([placed], "erp", now + 3 * LEASE)

    copy = await log.start(placed, "erp", now + 2 * LEASE, now + 3 * LEASE)
    assert copy == Attempt(1, finished=False, running_elsewhere=True)


async def test_every_end_of_an_attempt_lets_go_of_the_delivery(backend: Backend) -> None:
    messages = await one_order_published(backend)
    placed, reserved = (event_id(m) for m in messages)
    log, now = backend.delivery_log, backend.clock.now()
    later = now + TIMEOUT
    ends = {
        "wait": lambda: log.wait(placed, "erp", later),
        "postpone": lambda: log.postpone(placed, "erp", later, "TimeoutError: slow"),
        "ride_out": lambda: log.ride_out(placed, "erp", now, "erp"),
        "finish": lambda: log.finish(placed, "erp", now),
    }
    for name, end in ends.items():
        await log.start(placed, "erp", now, now + LEASE)
        await end()
        assert not (await log.start(placed, "erp", now, now)).running_elsewhere, name
        await log.wait(placed, "erp", later)  # take back the probe's count
    await log.start(reserved, "erp", now, now + LEASE)
    await log.bury(messages[1], "erp", 1, "permanent", "RemoteRejected: no", now)
    assert not (await log.start(reserved, "erp", now, now + LEASE)).running_elsewhere


async def test_a_finished_delivery_is_a_duplicate_even_while_a_copy_holds_it(
    backend: Backend,
) -> None:
    placed, _ = await one_order_relayed(backend)
    log, now = backend.delivery_log, backend.clock.now()
    await log.start(placed, "erp", now, now + LEASE)
    await log.finish(placed, "erp", now)
    await log.start(placed, "erp", now, now + LEASE)  # a duplicate copy, told it is finished

    copy = await log.start(placed, "erp", now, now + LEASE)

    assert copy.finished


# -- announcing integration trouble once per episode (PRODUCT.md §8.3) --------------------------


async def test_failing_is_announced_once_and_every_attempt_tells_with_which_remote(
    backend: Backend,
) -> None:
    placed, reserved = await one_order_relayed(backend, ("erp", "crm"))
    log = backend.delivery_log

    assert await log.announce_failing(placed, "erp", "erp")
    assert not await log.announce_failing(placed, "erp", "erp")  # a copy, or a later failure
    assert not await log.announce_failing(placed, "erp", "commerce")

    assert await attempt(backend, placed, "erp") == Attempt(
        1, finished=False, failing_announced="erp"
    )
    now = backend.clock.now()
    await log.start(placed, "erp", now, now + LEASE)
    held = await log.start(placed, "erp", now, now + LEASE)
    assert held == Attempt(2, finished=False, running_elsewhere=True, failing_announced="erp")
    assert (await attempt(backend, placed, "crm")).failing_announced is None  # per consumer
    assert (await attempt(backend, reserved, "erp")).failing_announced is None  # per event


async def test_a_withdrawn_announcement_is_withdrawn_once_and_may_be_made_again(
    backend: Backend,
) -> None:
    placed, _ = await one_order_relayed(backend)
    log = backend.delivery_log
    assert not await log.withdraw_failing(placed, "erp")  # none announced
    await log.announce_failing(placed, "erp", "payment")

    assert await log.withdraw_failing(placed, "erp")
    assert not await log.withdraw_failing(placed, "erp")

    assert (await attempt(backend, placed, "erp")).failing_announced is None
    assert await log.announce_failing(placed, "erp", "erp")


async def test_a_delivery_never_recorded_is_never_announced(backend: Backend) -> None:
    unknown = uuid4()

    assert not await backend.delivery_log.announce_failing(unknown, "erp", "erp")
    assert not await backend.delivery_log.withdraw_failing(unknown, "erp")


async def test_a_dead_letter_keeps_its_announcement_through_its_replay(
    backend: Backend,
) -> None:
    message, _ = await one_order_published(backend)
    placed, log, now = event_id(message), backend.delivery_log, backend.clock.now()
    await log.announce_failing(placed, "erp", "erp")
    await log.bury(message, "erp", 3, "retries_exhausted", "TimeoutError: ERP slow", now)
    assert (await attempt(backend, placed, "erp")).failing_announced == "erp"
    [letter] = await backend.dead_letters.page(10, None)

    await backend.dead_letters.revive(letter, now, now + TIMEOUT)

    # the replay that goes through is told as recovered; one that fails is not told twice
    assert await attempt(backend, placed, "erp") == Attempt(1, finished=False, failing_announced="erp")  # fmt: skip
    assert not await log.announce_failing(placed, "erp", "erp")


async def test_starting_a_batch_starts_the_free_deliveries_and_leaves_out_the_others(
    backend: Backend,
) -> None:
    await backend.stock("MUG", "dc-east", 10)
    await relay(backend, (), backend.clock.now())
    await place(backend)
    await place(backend)
    messages = await relay(backend, ("erp",), backend.clock.now() + TIMEOUT)
    free, held, done, again = (event_id(m) for m in messages)
    log, now = backend.delivery_log, backend.clock.now()
    await log.start(held, "erp", now, now + LEASE)  # another copy runs it
    await log.finish(done, "erp", now)
    await attempt(backend, again, "erp")  # a crashed attempt
    never_recorded = uuid4()

    started = await log.start_many(
        [free, held, done, again, never_recorded], "erp", now + SECOND, now + LEASE
    )

    assert started == {
        free: Attempt(1, finished=False),
        done: Attempt(1, finished=True),
        again: Attempt(2, finished=False),
    }
    copy = await log.start(free, "erp", now + 2 * SECOND, now + LEASE)
    assert copy == Attempt(1, finished=False, running_elsewhere=True)  # the batch holds it
    assert (await log.start(held, "erp", now + LEASE, now + 2 * LEASE)).number == 2  # untouched


async def test_renewing_a_batch_holds_each_of_its_deliveries(backend: Backend) -> None:
    placed, reserved = await one_order_relayed(backend)
    log, now = backend.delivery_log, backend.clock.now()
    await log.start_many([placed, reserved], "erp", now, now + LEASE)

    await log.renew([placed, reserved], "erp", now + 3 * LEASE)

    later = now + 2 * LEASE
    assert await log.start_many([placed, reserved], "erp", later, later + LEASE) == {}


async def test_the_unfinished_predecessors_of_a_batch_are_those_outside_it(
    backend: Backend,
) -> None:
    await backend.stock("MUG", "dc-east", 10)
    start = backend.clock.now()
    order_id = await place(backend)
    first = await relay(backend, ["erp"], start + TIMEOUT)
    placed, reserved = (event_id(m) for m in first if m["aggregate_id"] == str(order_id))
    await backend.run(c.HoldOrder(order_id=order_id, reason="address check"))
    await backend.run(c.ResumeOrder(order_id=order_id))
    held, resumed = (event_id(m) for m in await relay(backend, ["erp"], start + 2 * TIMEOUT))
    log = backend.delivery_log

    assert await log.unfinished_predecessors([held, resumed], "erp") == {
        held: Predecessor(0, start + TIMEOUT),  # `placed`, the earliest outside the batch
        resumed: Predecessor(0, start + TIMEOUT),
    }
    assert await log.unfinished_predecessors([placed, reserved, held, resumed], "erp") == {}
    await log.finish(placed, "erp", backend.clock.now(), [reserved])
    assert await log.unfinished_predecessors([resumed], "erp") == {
        resumed: Predecessor(0, start + 2 * TIMEOUT)  # `held`
    }
    assert await log.unfinished_predecessors([held, resumed], "erp") == {}

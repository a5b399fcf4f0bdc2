"""The dead-letter store as ops see it: list, and replay once the cause is fixed."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from ports.clock import Clock
from ports.delivery_log import DeadLetter, DeadLetterFilter, DeadLetterStore, LetterKey
from ports.inbound import DeferredInbound, InboundEvent

#: Dead letters of deferred inbound events are filed under `inbound:<source>`.
INBOUND = "inbound:"
#: How many letters a bulk replay reads at a time: a million matches never load at once.
BATCH = 200


class Replay(StrEnum):
    REPLAYED = "replayed"
    NOT_FOUND = "not_found"
    ALREADY_REPLAYED = "already_replayed"
    #: the letter holds no event to deliver again (a message whose event id was unreadable,
    #: filed under the nil id for inspection)
    UNREPLAYABLE = "unreplayable"


#: Where a message without a readable event id is filed (`DeadLetter.of`).
NIL_ID = str(UUID(int=0))


class DeadLetters:
    def __init__(
        self, store: DeadLetterStore, deferred: DeferredInbound, clock: Clock, batch: int = BATCH
    ) -> None:
        self._store = store
        self._deferred = deferred
        self._clock = clock
        self._batch = batch

    async def page(
        self, limit: int, after: LetterKey | None, where: DeadLetterFilter | None = None
    ) -> list[DeadLetter]:
        """Newest first, replayed or not, only those matching `where` when it is given."""
        return await self._store.page(limit, after, where)

    async def replay(self, dead_letter_id: UUID) -> Replay:
        """Deliver the message again, counting attempts anew: an outbox event is due for the relay
        at once; an inbound event goes back to the deferred events, due now."""
        letter = await self._store.get(dead_letter_id)
        if letter is None:
            return Replay.NOT_FOUND
        return await self._replay(letter)

    async def replay_matching(self, where: DeadLetterFilter) -> int:
        """Replay every letter that matches `where` and was not replayed yet, oldest first, a
        batch at a time; answers how many this call replayed. Idempotent: a second identical call
        replays none, and a letter another caller replays meanwhile is counted by that caller
        only. Only letters that had died when the call began: a replayed delivery that dies again
        at once is a new letter, left for the next call rather than replayed in a loop."""
        began = self._clock.now()
        replayed, after = 0, None
        while batch := await self._store.matching(where, self._batch, after):
            for letter in batch:
                if letter.died_at > began:
                    return replayed
                if await self._replay(letter) is Replay.REPLAYED:
                    replayed += 1
            after = (batch[-1].died_at, batch[-1].id)
        return replayed

    async def _replay(self, letter: DeadLetter) -> Replay:
        if letter.replayed_at is not None:
            return Replay.ALREADY_REPLAYED
        if letter.message_id == NIL_ID:
            return Replay.UNREPLAYABLE
        now = self._clock.now()
        if letter.consumer.startswith(INBOUND) and letter.payload is not None:
            event = InboundEvent(
                source=letter.consumer.removeprefix(INBOUND),
                event_id=letter.message_id,
                type=letter.event_type,
                body=letter.payload,
                actor="ops:replay",
                correlation_id=f"replay:{letter.id}",
            )
            # Deferred first, then marked: a replay that dies between the two is not lost, and
            # deferring twice (two callers racing) keeps one deferred event per event id.
            await self._deferred.defer(event, "replayed by ops", now)
            marked = await self._store.mark_replayed(letter.id, now)
        else:
            marked = await self._store.revive(letter, now, due_at=now)
        return Replay.REPLAYED if marked else Replay.ALREADY_REPLAYED

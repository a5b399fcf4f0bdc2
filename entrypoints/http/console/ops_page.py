"""The console's operations page (PRODUCT.md §8.4), for ops keys only: dead letters with replay
(one, or every letter a filter matches), workflows stuck past their SLA, the remotes' circuits,
and the outbox now and over the last hour.

A replay is a form posted with the session's token, from this origin, and answered with a
redirect back to the page (303, the filter kept) that names the result: a reload never posts
twice, and the page never shows raw JSON."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ClientException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from entrypoints.http.console.chart import line_chart
from entrypoints.http.console.forgery import SameOrigin, ensure_csrf_token
from entrypoints.http.console.letter_filter import BadFilter, LetterFilterForm
from entrypoints.http.console.pages import Pages
from entrypoints.http.console.session import Agent
from entrypoints.http.ops import decode_cursor, encode_cursor
from entrypoints.http.problems import ApiError
from outbox.dead_letters import DeadLetters, Replay
from ports.api_keys import Role
from ports.delivery_log import DeadLetter, DeadLetterFilter, LetterKey
from read_models.operations import Operations
from read_models.relay_history import RelayHistory
from read_models.remotes import Remotes

Req = Request[Any, Any, Any]
PAGE = "/console/ops"
#: Dead letters per page, newest first.
PAGE_SIZE = 50
#: Stuck workflows shown per kind, oldest first (as `GET /v1/ops/stuck`).
STUCK_SHOWN = 100
#: What a single replay came to, as the page says it: (is it a refusal, the sentence).
OUTCOMES = {
    Replay.REPLAYED: (False, "Replayed the dead letter: its delivery is due again now."),
    Replay.ALREADY_REPLAYED: (
        True,
        "That dead letter had been replayed already; a new failure would be a new dead letter.",
    ),
    Replay.NOT_FOUND: (True, "There is no such dead letter."),
    Replay.UNREPLAYABLE: (
        True,
        "That dead letter holds no event to deliver again (its message had no readable event "
        "id); it is kept for inspection.",
    ),
}


async def signed_in_operator(agent: NamedDependency[Agent]) -> Agent:
    """The signed-in person, if their key is an ops key (a 403 page for an agent key)."""
    if agent.role is not Role.OPS:
        raise PermissionDeniedException(
            "The operations page is for ops keys; this session was opened with an agent key."
        )
    return agent


class OpsPageController(Controller):
    path = "/ops"
    include_in_schema = False
    dependencies = {"operator": Provide(signed_in_operator)}

    @get("/")
    async def page(
        self,
        request: Req,
        operator: NamedDependency[Agent],
        pages: NamedDependency[Pages],
        dead_letter_store: NamedDependency[DeadLetters],
        operations: NamedDependency[Operations],
        remotes: NamedDependency[Remotes],
        relay_history: NamedDependency[RelayHistory],
        cursor: FromQuery[str] = "",
        replayed: FromQuery[str] = "",
        outcome: FromQuery[str] = "",
    ) -> Response[str]:
        """Everything at once; the dead letters filtered by the query's fields, a page at a time."""
        typed = LetterFilterForm.of(request.query_params)
        letters: list[DeadLetter] | None = None
        next_cursor = error = None
        try:
            where = typed.to_filter()
            after = decode_cursor(cursor) if cursor else None
        except BadFilter as e:
            error = str(e)
        except ApiError:
            error = "That page of dead letters is not one this console made; filter again."
        else:
            letters, next_cursor = await _letters(dead_letter_store, where, after)
        now = operations.now()
        hour = await relay_history.last_hour(now)
        return pages.render(
            "ops.html",
            400 if error else 200,
            agent=operator,
            now=now,
            typed=typed,
            error=error,
            flash=_flash(replayed, outcome),
            letters=letters,
            next_cursor=next_cursor,
            stuck=await operations.stuck(now, STUCK_SHOWN),
            remotes=await remotes.statuses(),
            outbox=await operations.outbox(now),
            hour=hour,
            lag_chart=line_chart(hour.lag_seconds, title="Outbox lag per minute", unit="s"),
            commands_chart=line_chart(hour.commands, title="Commands per minute"),
        )

    @post("/dead-letters/replay", status_code=303)
    async def replay_matching(
        self,
        request: Req,
        operator: NamedDependency[Agent],
        same_origin: NamedDependency[SameOrigin],
        dead_letter_store: NamedDependency[DeadLetters],
    ) -> Redirect:
        """Every letter the posted filter matches and not replayed yet, as
        `POST /v1/ops/dead-letters/replay` does (an empty filter: every one)."""
        form = await _posted(request, operator, same_origin)
        typed = LetterFilterForm.of(form)
        try:
            where = typed.to_filter()
        except BadFilter as e:
            raise ClientException(str(e)) from e
        return _back(typed, replayed=str(await dead_letter_store.replay_matching(where)))

    @post("/dead-letters/{dead_letter_id:uuid}/replay", status_code=303)
    async def replay_one(
        self,
        request: Req,
        dead_letter_id: FromPath[UUID],
        operator: NamedDependency[Agent],
        same_origin: NamedDependency[SameOrigin],
        dead_letter_store: NamedDependency[DeadLetters],
    ) -> Redirect:
        """One letter, as `POST /v1/ops/dead-letters/{id}/replay` does."""
        form = await _posted(request, operator, same_origin)
        outcome = await dead_letter_store.replay(dead_letter_id)
        return _back(LetterFilterForm.of(form), outcome=outcome.value)


async def _posted(request: Req, operator: Agent, same_origin: SameOrigin) -> FormMultiDict:
    """The form, once it is known to come from this origin with the session's token."""
    same_origin.ensure(request)
    form = await request.form()
    ensure_csrf_token(operator, form.get("csrf"))
    return form


async def _letters(
    store: DeadLetters, where: DeadLetterFilter, after: LetterKey | None
) -> tuple[list[DeadLetter], str | None]:
    found = await store.page(PAGE_SIZE + 1, after, where)
    shown = found[:PAGE_SIZE]
    return shown, encode_cursor(shown[-1]) if len(found) > PAGE_SIZE else None


def _back(typed: LetterFilterForm, **result: str) -> Redirect:
    return Redirect(f"{PAGE}?{urlencode(typed.kept | result)}#dead-letters", status_code=303)


def _flash(replayed: str, outcome: str) -> tuple[bool, str] | None:
    """What the redirect after a replay says happened: (is it a refusal, the sentence). Only
    sentences of this module are shown, whatever the query holds."""
    if replayed.isdigit() and len(replayed) < 10:
        count = int(replayed)
        if count == 0:
            return False, "Replayed no dead letter: none that matched was still to replay."
        return False, f"Replayed {count} dead letter{'' if count == 1 else 's'}."
    if outcome in {r.value for r in Replay}:
        return OUTCOMES[Replay(outcome)]
    return None

"""Running a command for an HTTP request: idempotency keys, the response stored with the change."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, Response

from application.bus import MessageBus
from domain.commands import Command
from entrypoints.http.correlation import correlation_of
from entrypoints.http.problems import ApiError
from ports.api_keys import Principal
from ports.clock import Clock
from ports.idempotency import ClaimState, IdempotencyGate, StoredResponse
from ports.unit_of_work import CommandMeta, UnitOfWork

#: Renders the response from the command's result, inside its transaction.
Render = Callable[[Any, UnitOfWork], Awaitable[StoredResponse]]

#: What `Idempotency-Key` may hold (the OpenAPI document says so too).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,200}$"
_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


def json_response(
    status: int, body: msgspec.Struct | dict[str, Any], **headers: str
) -> StoredResponse:
    return StoredResponse(status=status, headers=headers, body=msgspec.json.encode(body))


def correlation_id(request: Request[Any, Any, Any]) -> str:
    """The request's correlation id, as `entrypoints/http/correlation.py` decided it."""
    return correlation_of(request.scope)


def to_response(stored: StoredResponse, replayed: bool = False) -> Response[bytes]:
    """`X-Correlation-Id` is added to every answer by `correlation.name_correlation`."""
    headers = dict(stored.headers)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        content=stored.body,
        status_code=stored.status,
        media_type="application/json",
        headers=headers,
    )


@dataclass(frozen=True, slots=True)
class CommandRunner:
    bus: MessageBus
    gate: IdempotencyGate
    clock: Clock

    async def run(
        self,
        request: Request[Principal, Any, Any],
        command: Command,
        render: Render,
        *,
        idempotency_key: str | None = None,
    ) -> Response[bytes]:
        principal = request.user
        fingerprint = await self._fingerprint(request, principal) if idempotency_key else ""
        stored, replayed = await self.execute(
            principal.actor, correlation_id(request), command, render,
            idempotency_key=idempotency_key, fingerprint=fingerprint,
        )  # fmt: skip
        return to_response(stored, replayed)

    async def execute(
        self,
        actor: str,
        correlation: str,
        command: Command,
        render: Render,
        *,
        idempotency_key: str | None = None,
        fingerprint: str = "",
    ) -> tuple[StoredResponse, bool]:
        """Run the command for `actor`; with an idempotency key, a request made before with the
        same key and `fingerprint` gets its first answer back (the flag says so) and is not run
        again. Raises `ApiError` for a key that is malformed, reused for another request, or
        still running."""
        meta = CommandMeta(actor=actor, correlation_id=correlation)
        if idempotency_key is None:
            return await self._execute(command, meta, render, None), False
        if not _KEY.fullmatch(idempotency_key):
            raise ApiError(
                400,
                "invalid_idempotency_key",
                "Idempotency-Key must be 1-200 printable ASCII characters",
            )
        claim = await self.gate.claim(actor, idempotency_key, fingerprint, self.clock.now())
        if claim.state is ClaimState.REPLAY:
            assert claim.response is not None
            return claim.response, True
        if claim.state is ClaimState.MISMATCH:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            )
        if claim.state is ClaimState.IN_PROGRESS:
            raise ApiError(
                409, "request_in_progress", "a request with this Idempotency-Key is still running"
            )
        assert claim.token is not None
        try:
            stored = await self._execute(
                command, meta, render, (actor, idempotency_key, claim.token)
            )
        except BaseException:
            await self._release(actor, idempotency_key, claim.token)
            raise
        return stored, False

    async def _execute(
        self,
        command: Command,
        meta: CommandMeta,
        render: Render,
        claim: tuple[str, str, str] | None,
    ) -> StoredResponse:
        rendered: list[StoredResponse] = []

        async def finish(result: Any, uow: UnitOfWork) -> None:
            response = await render(result, uow)
            if claim is not None:
                uow.idempotency.complete(*claim, response)
            rendered[:] = [response]

        await self.bus.handle(command, meta, finish=finish)
        return rendered[0]

    async def _release(self, principal: str, key: str, token: str) -> None:
        # When the database is away the claim's lease frees the key instead.
        with contextlib.suppress(Exception):
            await self.gate.release(principal, key, token)

    @staticmethod
    async def _fingerprint(request: Request[Any, Any, Any], principal: Principal) -> str:
        digest = hashlib.sha256()
        for part in (request.method, request.url.path, principal.actor):
            digest.update(part.encode() + b"\n")
        digest.update(await request.body())
        return digest.hexdigest()

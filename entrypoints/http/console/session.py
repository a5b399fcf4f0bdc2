"""Console sessions: a random id in an HttpOnly, SameSite=Strict cookie; the data stays on the
server (in memory, or in Redis shared by every API process: `session_store.py`).

A session holds the id of the key it was opened with and which of its secrets, and that secret is
re-checked with the key store at most every `KEY_RECHECK_SECONDS`: a revoked or expired key, or
a secret whose rotation grace ended, ends its sessions within seconds.

Litestar's server-side sessions, with two changes to when the id is handed out:
- an anonymous visitor gets no session at all (nothing is stored, no cookie is set), so visits
  to the sign-in page cannot fill the store;
- the data is written once, when someone signs in, under a newly minted id (any id the browser
  brought is forgotten), so an id planted before sign-in never becomes a signed-in session
  (session fixation), and a session ends when it was due to, however busy it is.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.stores.memory import MemoryStore
from litestar.types import Message, ScopeSession
from litestar.utils.dataclass import extract_dataclass_items

from ports.api_keys import ApiKeyStore, Principal, Role
from ports.clock import Clock

#: Keys that may sign in to the console: people at a service desk and operators.
CONSOLE_ROLES = frozenset({Role.AGENT, Role.OPS})
#: A signed-in session lasts one working shift, however busy (it is not renewed on access).
SESSION_SECONDS = 8 * 3600
#: The name under which the app's store registry holds the sessions (`session_store.py`).
SESSION_STORE = "console_sessions"
COOKIE = "orderhub_console"
#: How long a key found active stays trusted before its sessions ask the key store again.
KEY_RECHECK_SECONDS = 5
#: Set in a request's state once its session store was found unreachable: the page that says
#: so is sent without touching the store again.
SESSIONS_UNAVAILABLE = "orderhub_sessions_unavailable"
#: A key no session has (ids are hex): asked for to learn whether the store answers.
_PROBE = "probe"
#: Session key asking the backend for a new id before the data is stored.
_NEW_ID = "_new_id"


class NotSignedIn(Exception):
    """Raised when a console page is asked for without a signed-in session."""


@dataclass(frozen=True, slots=True)
class Agent:
    """Who is signed in: the key's id and role (never the key itself) and the form token."""

    key_id: UUID
    role: Role
    csrf_token: str
    #: Which of the key's secrets signed in: the session ends when that secret stops being
    #: accepted (a revocation, the key's expiry, the end of a rotation's grace).
    generation: int = 0


def sign_in(connection: ASGIConnection[Any, Any, Any, Any], principal: Principal) -> None:
    connection.set_session(
        {
            "key_id": str(principal.key_id),
            "role": principal.role.value,
            "generation": principal.generation,
            "csrf": secrets.token_urlsafe(32),
            _NEW_ID: True,
        }
    )


async def ensure_store_reachable(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Raise `SessionsUnavailable` now, while a page can still say so, if the session store is
    away: the session itself is written (or deleted) only as the answer starts, too late to
    change that answer."""
    await connection.app.stores.get(SESSION_STORE).exists(_PROBE)


def sign_out(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    connection.clear_session()


def current_agent(connection: ASGIConnection[Any, Any, Any, Any]) -> Agent | None:
    data = connection.scope.get("session")  # absent where the session middleware is skipped
    if not isinstance(data, dict):
        return None
    try:
        return Agent(
            UUID(data["key_id"]), Role(data["role"]), data["csrf"], int(data["generation"])
        )
    except (KeyError, TypeError, ValueError):
        return None


class SessionKeys:
    """Whether the secret a session was opened with is still accepted: the key store's answer,
    kept for `KEY_RECHECK_SECONDS` per key and secret (only a yes is kept; the sessions of a
    revoked or expired key, or of a secret whose rotation grace ended, end)."""

    def __init__(self, keys: ApiKeyStore, clock: Clock) -> None:
        self._keys = keys
        self._clock = clock
        self._active_until: dict[tuple[UUID, int], datetime] = {}

    async def active(self, key_id: UUID, generation: int) -> bool:
        now = self._clock.now()
        which = (key_id, generation)
        until = self._active_until.get(which)
        if until is not None and until > now:
            return True
        if not await self._keys.is_active(key_id, generation):
            self._active_until.pop(which, None)
            return False
        if len(self._active_until) > 1000:  # one entry per signed-in key: a handful
            self._active_until = {k: u for k, u in self._active_until.items() if u > now}
        self._active_until[which] = now + timedelta(seconds=KEY_RECHECK_SECONDS)
        return True


async def checked_agent(
    connection: ASGIConnection[Any, Any, Any, Any], session_keys: SessionKeys
) -> Agent | None:
    """Who is signed in, if their key is still active; a session whose key was revoked is
    ended here (deleted on the server, the cookie cleared)."""
    agent = current_agent(connection)
    if agent is None:
        return None
    if not await session_keys.active(agent.key_id, agent.generation):
        sign_out(connection)
        return None
    return agent


async def signed_in_agent(
    request: ASGIConnection[Any, Any, Any, Any], session_keys: NamedDependency[SessionKeys]
) -> Agent:
    """Dependency of every page behind the sign-in: the agent, or off to the sign-in page."""
    agent = await checked_agent(request, session_keys)
    if agent is None:
        raise NotSignedIn
    return agent


class ConsoleSessionBackend(ServerSideSessionBackend):
    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        if SESSIONS_UNAVAILABLE in connection.state:
            return  # the answer says the store is away: asking it again would fail this answer
        store = self.config.get_store_from_app(connection.scope["app"])
        brought = connection.cookies.get(self.config.key)
        if brought == "null":
            brought = None
        if not isinstance(scope_session, dict) or not scope_session:  # Empty: signed out
            if brought:  # signed out, or an unknown id: forget it on both sides
                await self.delete(brought, store=store)
                self._set_cookie(message, connection, "null", max_age=0)
            return
        data = dict(scope_session)
        if not data.pop(_NEW_ID, False):
            return  # written once, at sign-in: its lifetime is absolute, not renewed on use
        if brought:
            await self.delete(brought, store=store)
        if isinstance(store, MemoryStore):
            await store.delete_expired()  # a memory store forgets only on access otherwise
        session_id = self.generate_session_id()
        await self.set(session_id, self.serialize_data(data), store=store)
        self._set_cookie(message, connection, session_id)

    def _set_cookie(
        self,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
        value: str,
        max_age: int | None = None,
    ) -> None:
        params = dict(
            extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys())
        )
        # `Secure` when the public origin is https (PUBLIC_ORIGIN), or this request came over
        # https (directly, or through a proxy uvicorn trusts to say so); plain http on loopback
        # (`make run`) keeps a cookie the browser will send back.
        params["secure"] = self.config.secure or connection.url.scheme == "https"
        if max_age is not None:
            params["max_age"] = max_age
        cookie = Cookie(value=value, key=self.config.key, **params)
        MutableScopeHeaders.from_message(message).add("Set-Cookie", cookie.to_header(header=""))


@dataclass
class ConsoleSessionConfig(ServerSideSessionConfig):
    _backend_class = ConsoleSessionBackend


def session_config(*, secure: bool = False) -> ConsoleSessionConfig:
    """`secure`: mark the cookie `Secure` on every answer, whatever the request's scheme."""
    return ConsoleSessionConfig(
        key=COOKIE,
        path="/console",
        max_age=SESSION_SECONDS,
        httponly=True,
        secure=secure,
        samesite="strict",
        store=SESSION_STORE,
        scopes={ScopeType.HTTP},
    )

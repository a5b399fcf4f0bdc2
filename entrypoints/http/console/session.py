"""Console sessions: a random id in an HttpOnly, SameSite=Strict cookie; the data stays in memory.

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
from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.stores.memory import MemoryStore
from litestar.types import Message, ScopeSession
from litestar.utils.dataclass import extract_dataclass_items

from ports.api_keys import Principal, Role

#: Keys that may sign in to the console: people at a service desk and operators.
CONSOLE_ROLES = frozenset({Role.AGENT, Role.OPS})
#: A signed-in session lasts one working shift, however busy (it is not renewed on access).
SESSION_SECONDS = 8 * 3600
#: The name under which the app's store registry holds the sessions (a memory store by default).
SESSION_STORE = "console_sessions"
COOKIE = "orderhub_console"
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


def sign_in(connection: ASGIConnection[Any, Any, Any, Any], principal: Principal) -> None:
    connection.set_session(
        {
            "key_id": str(principal.key_id),
            "role": principal.role.value,
            "csrf": secrets.token_urlsafe(32),
            _NEW_ID: True,
        }
    )


def sign_out(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    connection.clear_session()


def current_agent(connection: ASGIConnection[Any, Any, Any, Any]) -> Agent | None:
    data = connection.scope.get("session")  # absent where the session middleware is skipped
    if not isinstance(data, dict):
        return None
    try:
        return Agent(UUID(data["key_id"]), Role(data["role"]), data["csrf"])
    except (KeyError, TypeError, ValueError):
        return None


def signed_in_agent(request: ASGIConnection[Any, Any, Any, Any]) -> Agent:
    """Dependency of every page behind the sign-in: the agent, or off to the sign-in page."""
    agent = current_agent(request)
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
        store = self.config.get_store_from_app(connection.scope["app"])
        brought = connection.cookies.get(self.config.key)
        if brought == "null":
            brought = None
        if not isinstance(scope_session, dict) or not scope_session:  # Empty: signed out
            if brought:  # signed out, or an unknown id: forget it on both sides
                await self.delete(brought, store=store)
                self._set_cookie(message, "null", max_age=0)
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
        self._set_cookie(message, session_id)

    def _set_cookie(self, message: Message, value: str, max_age: int | None = None) -> None:
        params = dict(
            extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys())
        )
        if max_age is not None:
            params["max_age"] = max_age
        cookie = Cookie(value=value, key=self.config.key, **params)
        MutableScopeHeaders.from_message(message).add("Set-Cookie", cookie.to_header(header=""))


@dataclass
class ConsoleSessionConfig(ServerSideSessionConfig):
    _backend_class = ConsoleSessionBackend


def session_config() -> ConsoleSessionConfig:
    return ConsoleSessionConfig(
        key=COOKIE,
        path="/console",
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        store=SESSION_STORE,
        scopes={ScopeType.HTTP},
    )

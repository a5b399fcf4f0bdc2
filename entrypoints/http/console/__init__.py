"""The agent console (PRODUCT.md §5, §8.4): server-rendered pages at /console for a service desk,
and an operations page for ops keys.

Its routes are public to the API-key middleware and enforce their own sign-in: a person signs in
once with an agent or ops key and then holds a session cookie, not the key.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response, Router
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from adapters.sql.errors import translate
from entrypoints.http.auth import PUBLIC, Authenticator
from entrypoints.http.console.actions import ActionController, provide_desk
from entrypoints.http.console.controller import ConsoleController
from entrypoints.http.console.forgery import SameOrigin
from entrypoints.http.console.ops_page import OpsPageController
from entrypoints.http.console.pages import STATIC, Pages
from entrypoints.http.console.session import (
    SESSIONS_UNAVAILABLE,
    NotSignedIn,
    SessionKeys,
    current_agent,
    session_config,
    signed_in_agent,
)
from entrypoints.http.console.session_store import SessionsUnavailable
from ports.api_keys import ApiKeyStore
from ports.clock import Clock
from ports.idempotency import ClaimLost
from ports.unit_of_work import ConcurrencyConflict, DatabaseUnavailable

logger = logging.getLogger("orderhub.console")


def console_router(
    keys: ApiKeyStore,
    authenticator: Authenticator,
    clock: Clock,
    public_origin: str | None = None,
) -> Router:
    """Everything under /console; needs the app's `read_models` dependency, and for the
    operations page its `dead_letter_store`, `operations`, `remotes` and `relay_history`.
    `public_origin` (`PUBLIC_ORIGIN`) is what forms must come from; https there makes the cookie
    `Secure`."""
    pages = Pages()
    session_keys = SessionKeys(keys, clock)
    same_origin = SameOrigin(public_origin)

    def to_sign_in(_: Request[Any, Any, Any], __: NotSignedIn) -> Response[Any]:
        return Redirect("/console", status_code=303)

    def refused(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
        reason = exc.detail
        if exc.status_code >= 500:
            logger.error("console: %s %s failed", request.method, request.url.path, exc_info=exc)
            reason = "The console could not show this page. Try again in a moment."
        return pages.render(
            "refused.html",
            exc.status_code,
            agent=current_agent(request),
            status=exc.status_code,
            reason=reason,
        )

    def failed(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        """Anything else a page or a form ran into: a sentence on the console's page, never the
        API's problem JSON or a trace (the database away, a change racing this one, a bug)."""
        known = isinstance(exc, DatabaseUnavailable | ConcurrencyConflict)
        translated = exc if known else translate(exc)  # a driver's error outside a unit of work
        if isinstance(translated, DatabaseUnavailable):
            status, reason = 503, "The database is not reachable right now; nothing was changed. Try again in a moment."  # fmt: skip
        elif isinstance(exc, ClaimLost):
            status, reason = 409, "This form is still being handled; wait a moment and reload the page."  # fmt: skip
        elif isinstance(translated, ConcurrencyConflict):
            status, reason = 503, "Too many changes to this order at once; nothing was changed. Try again."  # fmt: skip
        else:
            logger.error("console: %s %s failed", request.method, request.url.path, exc_info=exc)
            status, reason = 500, "The console could not do this. Try again in a moment."
        agent = current_agent(request)
        return pages.render("refused.html", status, agent=agent, status=status, reason=reason)

    def sessions_away(request: Request[Any, Any, Any], exc: SessionsUnavailable) -> Response[Any]:
        request.state[SESSIONS_UNAVAILABLE] = True
        logger.warning(
            "console: %s %s answered 503: the session store is unreachable (%s)",
            request.method, request.url.path, type(exc.__cause__).__name__,
        )  # fmt: skip
        reason = "Console sign-ins cannot be checked right now (their store is unreachable); the API is unaffected. Try again in a moment."  # fmt: skip
        return pages.render("refused.html", 503, agent=None, status=503, reason=reason)

    static = create_static_files_router(
        path="/static", directories=[STATIC], opt={"skip_session": True}, include_in_schema=False
    )
    return Router(
        path="/console",
        route_handlers=[ConsoleController, ActionController, OpsPageController, static],
        opt={PUBLIC: True},
        middleware=[session_config(secure=(public_origin or "").startswith("https:")).middleware],
        dependencies={
            "pages": Provide(lambda: pages, use_cache=True, sync_to_thread=False),
            "api_keys": Provide(lambda: keys, use_cache=True, sync_to_thread=False),
            "authenticator": Provide(lambda: authenticator, use_cache=True, sync_to_thread=False),
            "session_keys": Provide(lambda: session_keys, use_cache=True, sync_to_thread=False),
            "same_origin": Provide(lambda: same_origin, use_cache=True, sync_to_thread=False),
            "agent": Provide(signed_in_agent),
            "desk": Provide(provide_desk, sync_to_thread=False),
        },
        exception_handlers={
            NotSignedIn: to_sign_in,
            SessionsUnavailable: sessions_away,
            HTTPException: refused,
            # The app answers these with problem JSON; the console's pages with a sentence.
            DatabaseUnavailable: failed,
            ConcurrencyConflict: failed,
            ClaimLost: failed,
            Exception: failed,
        },
        include_in_schema=False,
    )

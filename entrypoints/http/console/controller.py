"""The agent console's pages: sign in with an agent key, search orders, read an order's story."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, SkipValidation
from litestar.response import Redirect

from entrypoints.http.auth import Authenticator, TooManyFailures
from entrypoints.http.console.forgery import SameOrigin, ensure_csrf_token
from entrypoints.http.console.offers import DONE
from entrypoints.http.console.order_page import Outcome, show_order
from entrypoints.http.console.pages import Pages
from entrypoints.http.console.search import MAX_QUERY_LENGTH, find_orders, order_id_in
from entrypoints.http.console.session import (
    CONSOLE_ROLES,
    Agent,
    SessionKeys,
    checked_agent,
    ensure_store_reachable,
    sign_in,
    sign_out,
)
from entrypoints.http.rate_limit import client_address
from read_models.queries import BadCursor, ReadModels

Req = Request[Any, Any, Any]
#: A Protocol cannot be checked at run time: Litestar is told not to try.
#: An API key is `ohk_` and 43 characters; anything much longer is not one.
_MAX_KEY_LENGTH = 200


def _home() -> Redirect:
    return Redirect("/console", status_code=303)


class ConsoleController(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def home(
        self,
        request: Req,
        pages: NamedDependency[Pages],
        session_keys: NamedDependency[SessionKeys],
    ) -> Response[str]:
        """The sign-in form, or the search box once signed in."""
        agent = await checked_agent(request, session_keys)
        if agent is None:
            return pages.render("sign_in.html", agent=None)
        return pages.render("search.html", agent=agent, query="", found=None)

    @get("/login")
    async def login_page(self) -> Redirect:
        """A reload after a failed sign-in lands on the form again."""
        return _home()

    @post("/login", status_code=303)
    async def login(
        self,
        request: Req,
        pages: NamedDependency[Pages],
        authenticator: NamedDependency[SkipValidation[Authenticator]],
        same_origin: NamedDependency[SameOrigin],
    ) -> Response[Any]:
        """Sign in with an agent or ops key, posted in the form body (never in a URL)."""
        same_origin.ensure(request)
        key = (await request.form()).get("key")
        secret = key.strip() if isinstance(key, str) else ""
        principal = None
        if secret and len(secret) <= _MAX_KEY_LENGTH:
            try:
                principal = await authenticator.authenticate(secret, client_address(request.scope))
            except TooManyFailures as e:
                error = (
                    "Too many failed sign-ins from your address. "
                    f"Try again in {e.retry_after} seconds."
                )
                return pages.render("sign_in.html", 429, agent=None, error=error)
        if principal is None:
            error = "That key is not known, or it has been revoked."
            return pages.render("sign_in.html", 401, agent=None, error=error)
        if principal.role not in CONSOLE_ROLES:
            error = f"A {principal.role} key cannot sign in here; use an agent or ops key."
            return pages.render("sign_in.html", 403, agent=None, error=error)
        await ensure_store_reachable(request)
        sign_in(request, principal)
        return _home()

    @post("/logout", status_code=303)
    async def logout(
        self,
        request: Req,
        agent: NamedDependency[Agent],
        same_origin: NamedDependency[SameOrigin],
    ) -> Redirect:
        same_origin.ensure(request)
        ensure_csrf_token(agent, (await request.form()).get("csrf"))
        await ensure_store_reachable(request)
        sign_out(request)
        return _home()

    @get("/orders")
    async def search(
        self,
        agent: NamedDependency[Agent],
        pages: NamedDependency[Pages],
        read_models: NamedDependency[ReadModels],
        q: FromQuery[str] = "",
        cursor: FromQuery[str] = "",
    ) -> Response[Any]:
        """Orders by customer email, channel order ref, ERP ref or case id; an order id opens it."""
        query = q.strip()
        if not query:
            return _home()
        if len(query) > MAX_QUERY_LENGTH:
            error = f"Search for at most {MAX_QUERY_LENGTH} characters."
            return pages.render("search.html", 400, agent=agent, query="", found=None, error=error)
        if (order_id := order_id_in(query)) is not None:
            return Redirect(f"/console/orders/{order_id}", status_code=303)
        try:
            found = await find_orders(read_models, query, cursor or None)
        except BadCursor:
            error = "That page of results is not one this console made; search again."
            return pages.render("search.html", 400, agent=agent, query=query, found=None, error=error)  # fmt: skip
        return pages.render("search.html", agent=agent, query=query, found=found)

    @get("/orders/{order_id:str}")
    async def order(
        self,
        order_id: FromPath[str],
        agent: NamedDependency[Agent],
        pages: NamedDependency[Pages],
        read_models: NamedDependency[ReadModels],
        done: FromQuery[str] = "",
    ) -> Response[str]:
        """The order as it stands, its returns and refunds, its timeline top to bottom, and the
        acts its state allows (`done` names the act that just went through)."""
        wanted = order_id_in(order_id)
        if wanted is None:
            return pages.render("not_found.html", 404, agent=agent, order_id=order_id)
        finished = next((DONE[a] for a in DONE if a.value == done), None)
        return await show_order(pages, read_models, agent, wanted, Outcome(done=finished))

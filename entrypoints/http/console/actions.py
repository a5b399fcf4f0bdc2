"""An agent acts from the order page: each act a plain form posted with the session's token, run
as the same command the API runs, under the agent's key (PRODUCT.md §8.4).

A form carries the page's `form_id`, the idempotency key of what it asks: sent twice (a double
click, a reload of the answer) it is done once. Every refusal comes back as the order page with
a sentence on top and the form's values kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, SkipValidation
from litestar.response import Redirect

from domain import commands as c
from domain.errors import DomainError
from entrypoints.http.commands import CommandRunner, json_response
from entrypoints.http.console.forgery import SameOrigin, ensure_csrf_token
from entrypoints.http.console.offers import Action
from entrypoints.http.console.order_page import Outcome, show_order
from entrypoints.http.console.pages import Pages
from entrypoints.http.console.session import Agent
from entrypoints.http.correlation import correlation_of
from entrypoints.http.problems import ApiError, status_of
from entrypoints.http.refunds import refund_id
from entrypoints.http.schemas import (
    AddNoteBody,
    AddressBody,
    AppeasementBody,
    CancelOrderBody,
    CancelRemainingBody,
    HoldOrderBody,
    LinkCaseBody,
    RejectReturnBody,
    RequestReturnBody,
)
from ports.api_keys import Principal, Role
from ports.idempotency import StoredResponse
from ports.order_lookup import OrderLookup
from ports.unit_of_work import UnitOfWork
from read_models.queries import ReadModels

Req = Request[Any, Any, Any]
Form = Mapping[str, str]
B = TypeVar("B", bound=msgspec.Struct)
#: A return asks for at most this many lines (the API's limit).
_MAX_RETURN_LINES = 500


class FormRefused(Exception):
    """The form's values cannot make the command; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Desk:
    """What an act needs: the app's command runner and reads, the console's pages and checks."""

    runner: CommandRunner
    read_models: ReadModels
    lookup: OrderLookup
    pages: Pages
    same_origin: SameOrigin


def provide_desk(
    runner: NamedDependency[SkipValidation[CommandRunner]],
    read_models: NamedDependency[SkipValidation[ReadModels]],
    lookup: NamedDependency[SkipValidation[OrderLookup]],
    pages: NamedDependency[Pages],
    same_origin: NamedDependency[SameOrigin],
) -> Desk:
    return Desk(runner, read_models, lookup, pages, same_origin)


async def _done(_: Any, __: UnitOfWork) -> StoredResponse:
    return json_response(200, {"done": True})


async def act(
    request: Req,
    agent: Agent,
    desk: Desk,
    order_id: UUID,
    action: Action,
    command_from: Callable[[Form], c.Command],
    return_id: UUID | None = None,
) -> Response[Any]:
    """Check the form came from this session, run its command, and show the order: with what
    was done (after a redirect, so a reload does not send it again) or why it was not."""
    desk.same_origin.ensure(request)
    form = await _form(request)
    ensure_csrf_token(agent, form.get("csrf"))
    if agent.role is not Role.AGENT:
        raise PermissionDeniedException(
            f"An {agent.role} key looks but does not act on orders; sign in with an agent key."
        )
    if return_id is not None:
        owner = await desk.lookup.owner_of_return(return_id)
        if owner is None or owner[0] != order_id:
            raise NotFoundException("This order has no such return.")
    elif await desk.lookup.channel_of_order(order_id) is None:
        raise NotFoundException("No order has this id.")
    try:
        await desk.runner.execute(
            Principal(agent.key_id, agent.role).actor,
            correlation_of(request.scope),
            command_from(form),
            _done,
            idempotency_key=_form_key(form),
            fingerprint=_fingerprint(request.url.path, form),
        )
    except (FormRefused, DomainError, ApiError) as e:
        outcome = Outcome(
            refused=_sentence(e),
            action=action,
            return_id=str(return_id) if return_id else None,
            kept=form,
        )
        status = _status(e)
        return await show_order(desk.pages, desk.read_models, agent, order_id, outcome, status)
    return Redirect(f"/console/orders/{order_id}?done={action.value}", status_code=303)


async def _form(request: Req) -> dict[str, str]:
    """The posted fields as text (a field sent twice counts once: the first)."""
    form: dict[str, str] = {}
    for name, value in (await request.form()).multi_items():
        if isinstance(value, str):
            form.setdefault(name, value)
    return form


def _form_key(form: Form) -> str | None:
    form_id = form.get("form_id", "")
    return f"console:{form_id}" if form_id else None


def _fingerprint(path: str, form: Form) -> str:
    digest = hashlib.sha256(path.encode() + b"\n")
    for name, value in sorted(form.items()):
        if name != "csrf":  # the same act asked again from another tab is the same act
            digest.update(f"{name}={value}\n".encode())
    return digest.hexdigest()


def _sentence(error: Exception) -> str:
    if isinstance(error, ApiError) and error.code == "idempotency_key_reused":
        return "This page's forms were used for another change already; here is the order as it stands now, try again."  # fmt: skip
    if isinstance(error, ApiError) and error.code == "request_in_progress":
        return "This form is still being handled; wait a moment and reload the page."
    if isinstance(error, DomainError):
        return f"Not done: {error.detail}."
    return str(error)


def _status(error: Exception) -> int:
    if isinstance(error, DomainError):
        return status_of(error)
    if isinstance(error, ApiError):
        return error.status_code
    return 422


def _body(struct: type[B], **fields: Any) -> B:
    """The API's own body type, so that a form obeys the same limits as a JSON request."""
    try:
        return msgspec.convert(fields, struct)
    except msgspec.ValidationError as e:
        where, _, what = str(e).partition(" - at `$.")
        field = what.rstrip("`").split("[")[0] or "form"
        raise FormRefused(f"Not done: {field.replace('_', ' ')}: {where}.") from None


def _text(form: Form, name: str) -> str:
    return form.get(name, "").strip()


def _optional(form: Form, name: str) -> str | None:
    return _text(form, name) or None


def _return_lines(form: Form) -> list[dict[str, str | int]]:
    lines: list[dict[str, str | int]] = []
    for i in range(_MAX_RETURN_LINES):
        sku = form.get(f"sku_{i}")
        if sku is None:
            break
        quantity = _text(form, f"quantity_{i}") or "0"
        if not quantity.isdigit() or len(quantity) > 9:
            raise FormRefused(f"Not done: the quantity of {sku} must be a whole number.")
        if int(quantity):
            lines.append({"sku": sku, "quantity": int(quantity), "reason": _text(form, f"reason_{i}")})  # fmt: skip
    if not lines:
        raise FormRefused("Not done: say how many units of which item come back.")
    return lines


def _version(form: Form) -> int | None:
    version = _text(form, "version")
    return int(version) if version.isdigit() and len(version) <= 18 else None


def _hold(order_id: UUID, form: Form) -> c.Command:
    body = _body(HoldOrderBody, reason=_text(form, "reason"))
    return c.HoldOrder(order_id=order_id, reason=body.reason)


def _resume(order_id: UUID, _: Form) -> c.Command:
    return c.ResumeOrder(order_id=order_id)


def _cancel(order_id: UUID, form: Form) -> c.Command:
    body = _body(CancelOrderBody, reason=_text(form, "reason"))
    return c.CancelOrder(order_id=order_id, reason=body.reason)


def _cancel_remaining(order_id: UUID, form: Form) -> c.Command:
    body = _body(CancelRemainingBody, reason=_text(form, "reason"))
    return c.CancelRemaining(order_id=order_id, reason=body.reason)


def _amend_address(order_id: UUID, form: Form) -> c.Command:
    fields = {f: _text(form, f) for f in ("name", "line1", "city", "postal_code", "country")}
    address = _body(AddressBody, **fields, line2=_optional(form, "line2"))
    # The version the agent saw: an address changed on a page gone stale is refused.
    return c.AmendOrder(order_id=order_id, expected_version=_version(form),
                        shipping_address=address.to_domain(), lines=())  # fmt: skip


def _request_return(order_id: UUID, form: Form) -> c.Command:
    lines, case_id = _return_lines(form), _optional(form, "case_id")
    return _body(RequestReturnBody, lines=lines, case_id=case_id).to_command(order_id)


def _link_case(order_id: UUID, form: Form) -> c.Command:
    body = _body(LinkCaseBody, case_id=_text(form, "case_id"))
    return c.LinkCase(order_id=order_id, case_id=body.case_id)


def _add_note(order_id: UUID, form: Form) -> c.Command:
    body = _body(AddNoteBody, text=_text(form, "text"))
    return c.AddNote(order_id=order_id, text=body.text)


def _refund(order_id: UUID, form: Form) -> c.Command:
    """An appeasement: its refund id comes from the page's form id, so the form sent twice
    refunds once (like the API's, from its `Idempotency-Key`)."""
    form_id = _text(form, "form_id")
    if not form_id:
        raise FormRefused("Not done: this form has lost its id; reload the page and try again.")
    body = _body(AppeasementBody, amount=_text(form, "amount") or "0", reason=_text(form, "reason"))
    return c.IssueAppeasement(
        order_id=order_id,
        refund_id=refund_id("console", order_id, form_id),
        amount=body.amount,
        reason=body.reason,
    )


def _authorize(return_id: UUID, _: Form) -> c.Command:
    return c.AuthorizeReturn(return_id=return_id)


def _reject(return_id: UUID, form: Form) -> c.Command:
    body = _body(RejectReturnBody, reason=_text(form, "reason"))
    return c.RejectReturn(return_id=return_id, reason=body.reason)


def _accept_credit_memo(return_id: UUID, _: Form) -> c.Command:
    return c.AcceptCreditMemo(return_id=return_id)


#: The order's acts and the return's, each with the command its form makes (given the order's
#: or the return's id).
Build = Callable[[UUID, Form], c.Command]
ON_ORDER: dict[Action, Build] = {
    Action.HOLD: _hold,
    Action.RESUME: _resume,
    Action.CANCEL: _cancel,
    Action.CANCEL_REMAINING: _cancel_remaining,
    Action.AMEND_ADDRESS: _amend_address,
    Action.REQUEST_RETURN: _request_return,
    Action.LINK_CASE: _link_case,
    Action.ADD_NOTE: _add_note,
    Action.REFUND: _refund,
}
ON_RETURN: dict[Action, Build] = {
    Action.AUTHORIZE_RETURN: _authorize,
    Action.REJECT_RETURN: _reject,
    Action.ACCEPT_CREDIT_MEMO: _accept_credit_memo,
}


def _known(acts: dict[Action, Build], name: str) -> Action:
    for action in acts:
        if action.value == name:
            return action
    raise NotFoundException("The console has no such act.")


class ActionController(Controller):
    """POST /console/orders/{id}/<act> and /console/orders/{id}/returns/{return id}/<act>."""

    path = "/orders/{order_id:uuid}"
    include_in_schema = False

    @post("/{name:str}", status_code=303)
    async def on_order(
        self,
        request: Req,
        order_id: FromPath[UUID],
        name: FromPath[str],
        agent: NamedDependency[Agent],
        desk: NamedDependency[Desk],
    ) -> Response[Any]:
        action = _known(ON_ORDER, name)
        command = partial(ON_ORDER[action], order_id)
        return await act(request, agent, desk, order_id, action, command)

    @post("/returns/{return_id:uuid}/{name:str}", status_code=303)
    async def on_return(
        self,
        request: Req,
        order_id: FromPath[UUID],
        return_id: FromPath[UUID],
        name: FromPath[str],
        agent: NamedDependency[Agent],
        desk: NamedDependency[Desk],
    ) -> Response[Any]:
        action = _known(ON_RETURN, name)
        command = partial(ON_RETURN[action], return_id)
        return await act(request, agent, desk, order_id, action, command, return_id)

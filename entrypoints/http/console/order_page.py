"""The order page: the order's sheet, the acts it offers, and what the last act came to."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from uuid import UUID

from litestar import Response

from entrypoints.http.console.offers import Action, offers
from entrypoints.http.console.order_sheet import order_sheet
from entrypoints.http.console.pages import Pages
from entrypoints.http.console.session import Agent
from read_models.queries import ReadModels


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the page says on top: an act that went through, or one that was refused (with the
    form's values, so that nothing typed is lost)."""

    done: str | None = None
    refused: str | None = None
    action: Action | None = None
    return_id: str | None = None
    kept: Mapping[str, str] = field(default_factory=dict)


async def show_order(
    pages: Pages,
    read_models: ReadModels,
    agent: Agent,
    order_id: UUID,
    outcome: Outcome | None = None,
    status_code: int = 200,
) -> Response[str]:
    sheet = await order_sheet(read_models, order_id)
    if sheet is None:
        return pages.render("not_found.html", 404, agent=agent, order_id=str(order_id))
    return pages.render(
        "order.html",
        status_code,
        agent=agent,
        sheet=sheet,
        offers=offers(sheet.order, sheet.returns, agent.role),
        outcome=outcome or Outcome(),
        # One per page: a form sent twice (a double click, a reload) is done once.
        form_id=secrets.token_urlsafe(16),
    )

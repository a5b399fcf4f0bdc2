"""Security tests drive the real app (the container on a throwaway SQLite database), as the
HTTP integration tests do: their database and app fixtures are reused here."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.conftest import sqlite_engine, sqlite_url  # noqa: F401
from tests.integration.http.conftest import Api, make_api
from tests.integration.http.requests import open_return, place_order, ship, stock

#: The Shopify webhook secret the app under test is configured with.
SHOPIFY_SECRET = "shpss_security-tests-0123456789abcdef"


@pytest.fixture
async def secured(sqlite_engine: AsyncEngine) -> AsyncIterator[Api]:  # noqa: F811
    """The whole app with the Shopify webhook secret set, and the keys web, pos, agent, system
    and ops. The per-address limits are out of the way: these tests call every route with a
    made-up key and without one (tests/integration/http/test_abuse_limits.py tests the limits)."""
    async for built in make_api(
        sqlite_engine,
        shopify_webhook_secret=SHOPIFY_SECRET,
        auth_failure_limit="100000/minute",
        public_rate_limit="100000/second",
    ):
        yield built


@dataclass(frozen=True)
class Owned:
    """An order of channel `web`, delivered, with a return open on it."""

    order_id: str
    return_id: str


async def owned_order_with_return(api: Api) -> Owned:
    await stock(api, on_hand=100)
    order = await place_order(api, who="web")
    await ship(api, order, delivered=True)
    return Owned(order["id"], await open_return(api, order["id"]))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The schemathesis totals, so that a run can be quoted."""
    module = sys.modules.get("tests.security.test_schemathesis")
    for line in module.report_totals() if module else []:
        terminalreporter.write_line(line)

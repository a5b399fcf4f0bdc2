"""Fake ERP, Salesforce, Shopify and Stripe servers on loopback, and adapters aimed at them on test time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from adapters.http.erp_rest import RestErp
from adapters.http.resilience import CircuitBreaker, RetryPolicy
from adapters.http.salesforce import SalesforceCrm
from adapters.http.shopify import ShopifyCommerce
from adapters.http.stripe import StripePayments
from tests.integration.adapters.fake_erp import FakeErp
from tests.integration.adapters.fake_salesforce import FakeSalesforce
from tests.integration.adapters.fake_shopify import FakeShopify
from tests.integration.adapters.fake_stripe import FakeStripe
from tests.integration.adapters.live_server import Swappable, live_server
from tests.integration.adapters.scripted import ScriptedApp
from tests.unit.adapters.timing import FakeMonotonic, RecordedSleeps, fixed_jitter

#: generous per-phase timeout for tests that are not about timeouts, so a slow machine passes
RELAXED_TIMEOUT = 5.0
COOL_DOWN = 30.0


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture(scope="session")
def loopback() -> Iterator[tuple[Swappable, str]]:
    """One real server on 127.0.0.1 for the session; each test plugs its own fake into it."""
    app = Swappable()
    with live_server(app) as url:
        yield app, url


def _served(loopback: tuple[Swappable, str], fake: ScriptedApp) -> Iterator[Any]:
    app, url = loopback
    fake.url = url
    app.target = fake
    try:
        yield fake
    finally:
        fake.release()
        app.target = None


@pytest.fixture
def fake_erp(loopback: tuple[Swappable, str]) -> Iterator[FakeErp]:
    yield from _served(loopback, FakeErp())


@pytest.fixture
def fake_salesforce(loopback: tuple[Swappable, str]) -> Iterator[FakeSalesforce]:
    yield from _served(loopback, FakeSalesforce())


@pytest.fixture
def fake_shopify(loopback: tuple[Swappable, str]) -> Iterator[FakeShopify]:
    yield from _served(loopback, FakeShopify())


@pytest.fixture
def fake_stripe(loopback: tuple[Swappable, str]) -> Iterator[FakeStripe]:
    yield from _served(loopback, FakeStripe())


def resilience(
    clock: FakeMonotonic, sleeps: RecordedSleeps, name: str, attempts: int, threshold: int
) -> dict[str, Any]:
    return {
        "retry": RetryPolicy(attempts=attempts, sleep=sleeps, jitter=fixed_jitter),
        "breaker": CircuitBreaker(
            name, failure_threshold=threshold, reset_timeout=COOL_DOWN, clock=clock
        ),
    }


@pytest.fixture
async def make_erp(
    fake_erp: FakeErp, clock: FakeMonotonic, sleeps: RecordedSleeps
) -> AsyncIterator[Callable[..., RestErp]]:
    made: list[RestErp] = []

    def make(
        *, attempts: int = 3, threshold: int = 5, timeout: float = RELAXED_TIMEOUT, **kwargs: Any
    ) -> RestErp:
        settings: dict[str, Any] = {"base_url": fake_erp.url, "api_key": fake_erp.api_key}
        settings |= resilience(clock, sleeps, "erp", attempts, threshold) | kwargs
        made.append(RestErp(timeout=timeout, **settings))
        return made[-1]

    yield make
    for erp in made:
        await erp.aclose()


@pytest.fixture
async def make_crm(
    fake_salesforce: FakeSalesforce, clock: FakeMonotonic, sleeps: RecordedSleeps
) -> AsyncIterator[Callable[..., SalesforceCrm]]:
    made: list[SalesforceCrm] = []

    def make(
        *, attempts: int = 3, threshold: int = 5, timeout: float = RELAXED_TIMEOUT, **kwargs: Any
    ) -> SalesforceCrm:
        settings: dict[str, Any] = {
            "login_url": fake_salesforce.url,
            "client_id": fake_salesforce.client_id,
            "client_secret": fake_salesforce.client_secret,
        }
        settings |= resilience(clock, sleeps, "crm", attempts, threshold) | kwargs
        made.append(SalesforceCrm(timeout=timeout, **settings))
        return made[-1]

    yield make
    for crm in made:
        await crm.aclose()


@pytest.fixture
async def make_shop(
    fake_shopify: FakeShopify, clock: FakeMonotonic, sleeps: RecordedSleeps
) -> AsyncIterator[Callable[..., ShopifyCommerce]]:
    made: list[ShopifyCommerce] = []

    def make(
        *, attempts: int = 3, threshold: int = 5, timeout: float = RELAXED_TIMEOUT, **kwargs: Any
    ) -> ShopifyCommerce:
        settings: dict[str, Any] = {
            "shop_url": fake_shopify.url,
            "access_token": fake_shopify.access_token,
        }
        settings |= resilience(clock, sleeps, "commerce", attempts, threshold) | kwargs
        made.append(ShopifyCommerce(timeout=timeout, **settings))
        return made[-1]

    yield make
    for shop in made:
        await shop.aclose()


@pytest.fixture
async def make_payments(
    fake_stripe: FakeStripe, clock: FakeMonotonic, sleeps: RecordedSleeps
) -> AsyncIterator[Callable[..., StripePayments]]:
    made: list[StripePayments] = []

    def make(
        *, attempts: int = 3, threshold: int = 5, timeout: float = RELAXED_TIMEOUT, **kwargs: Any
    ) -> StripePayments:
        settings: dict[str, Any] = {"api_base": fake_stripe.url, "api_key": fake_stripe.secret_key}
        settings |= resilience(clock, sleeps, "payment", attempts, threshold) | kwargs
        made.append(StripePayments(timeout=timeout, **settings))
        return made[-1]

    yield make
    for payments in made:
        await payments.aclose()

"""factory-boy factories for domain values, commands and orders."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import factory

from adapters.clock import FixedClock
from domain import commands as c
from domain.allocation import LocationPriority
from domain.customer import Address, Customer
from domain.inventory import StockKey, StockLevel
from domain.order import Order
from domain.order_lines import LineSpec
from domain.returns import ReturnLineSpec
from ports.webhooks import WebhookSubscription


class CustomerFactory(factory.Factory):
    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    name = factory.Faker("name")
    id = None


class AddressFactory(factory.Factory):
    class Meta:
        model = Address

    name = factory.Faker("name")
    line1 = factory.Faker("street_address")
    city = factory.Faker("city")
    postal_code = factory.Faker("postcode")
    country = "DE"


class LineSpecFactory(factory.Factory):
    class Meta:
        model = LineSpec

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    quantity = 1
    unit_price = Decimal("19.99")


def _payment_for(lines: tuple[LineSpec, ...], shipping: Decimal) -> Decimal:
    return sum(((ln.unit_price + ln.tax_amount) * ln.quantity for ln in lines), shipping)


class PlaceOrderFactory(factory.Factory):
    """A valid place-order command; the payment covers exactly the lines and shipping."""

    class Meta:
        model = c.PlaceOrder

    channel = "web"
    channel_order_ref = factory.Sequence(lambda n: f"WEB-{n:06d}")
    customer = factory.SubFactory(CustomerFactory)
    shipping_address = factory.SubFactory(AddressFactory)
    currency = "EUR"
    lines = factory.LazyFunction(lambda: (LineSpecFactory(),))
    shipping_amount = Decimal("0")
    payment_reference = factory.Sequence(lambda n: f"pay_{n:06d}")
    payment_amount = factory.LazyAttribute(lambda o: _payment_for(o.lines, o.shipping_amount))
    allow_backorder = False


class ReturnLineSpecFactory(factory.Factory):
    class Meta:
        model = ReturnLineSpec

    sku = "SKU-0000"
    quantity = 1
    reason = "does not fit"


def stock_for(
    cmd: c.PlaceOrder, location: str = "dc-east", spare: int = 0
) -> dict[StockKey, StockLevel]:
    """Exactly enough stock (plus `spare`) at one location for every line of `cmd`."""
    return {
        StockKey(ln.sku, location): StockLevel(ln.sku, location, on_hand=ln.quantity + spare)
        for ln in cmd.lines
    }


class OrderFactory(factory.Factory):
    """An order placed through the domain, fully reserved at dc-east; pass `stock` to control it."""

    class Meta:
        model = Order

    command = factory.SubFactory(PlaceOrderFactory)
    clock = factory.LazyFunction(FixedClock)
    stock = None

    @classmethod
    def _create(
        cls, model_class: type[Order], command: c.PlaceOrder, clock: FixedClock, stock: dict | None
    ) -> Order:  # type: ignore[override]
        return model_class.place(
            id=uuid4(),
            channel=command.channel,
            channel_order_ref=command.channel_order_ref,
            customer=command.customer,
            shipping_address=command.shipping_address,
            currency=command.currency,
            lines=command.lines,
            payment_reference=command.payment_reference,
            payment_amount=command.payment_amount,
            allow_backorder=command.allow_backorder,
            shipping_amount=command.shipping_amount,
            now=clock.now(),
            stock=stock if stock is not None else stock_for(command),
            priority=LocationPriority(("dc-east", "dc-west")),
            new_id=uuid4,
        )

    _build = _create


def case_id(n: int) -> str:
    """A CRM case id of the shape the CRM hands out (a Salesforce record id: 15 characters)."""
    return f"500{n:012d}"


class WebhookSubscriptionFactory(factory.Factory):
    """A subscription to every order event of the web channel, on a loopback receiver."""

    class Meta:
        model = WebhookSubscription

    id = factory.LazyFunction(uuid4)
    url = factory.Sequence(lambda n: f"http://127.0.0.1:9/hooks/{n}")
    event_types = frozenset({"OrderPlaced", "InventoryReserved", "OrderBooked", "OrderCancelled"})
    channel = "web"
    created_at = factory.Sequence(lambda n: datetime(2026, 11, 2, 9, 0, n % 60, tzinfo=UTC))
    secret = factory.Sequence(lambda n: f"whsec-{n:04d}")

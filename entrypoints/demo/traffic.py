"""The demo's channels: a catalogue, a stock count, and a day of orders from web, POS and a
marketplace, all drawn from one seed."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from domain import commands as c
from domain.customer import Address, Customer
from domain.order_lines import LineSpec

CATALOGUE: dict[str, Decimal] = {
    "MUG-BLUE": Decimal("12.50"), "MUG-RED": Decimal("12.50"), "TEAPOT-1L": Decimal("39.00"),
    "KETTLE-STEEL": Decimal("59.90"), "TOWEL-SET": Decimal("24.00"), "CANDLE-FIG": Decimal("18.00"),
    "LAMP-DESK": Decimal("79.00"), "RUG-140": Decimal("129.00"), "VASE-GLASS": Decimal("34.50"),
    "PLATE-SET-6": Decimal("45.00"), "CUSHION-LINEN": Decimal("29.00"), "CLOCK-WALL": Decimal("49.00"),
}  # fmt: skip
LOCATIONS = ("dc-east", "dc-west", "store-12")
#: The ERP refuses orders with this SKU (a discontinued item): those orders go on hold.
DISCONTINUED = "POSTER-OLD"
CHANNELS = (("web", 0.6), ("pos", 0.25), ("marketplace", 0.15))
CITIES = (("Berlin", "10115"), ("Hamburg", "20095"), ("Munich", "80331"), ("Cologne", "50667"))
NAMES = ("Ann Lee", "Ben Ortiz", "Chloé Dubois", "Dmitri Ivanov", "Emma Schulz", "Femi Adeyemi",
         "Grace Kim", "Hugo Martin", "Ines Costa", "Jonas Berg", "Kira Sato", "Lena Fischer")  # fmt: skip


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    at: datetime
    command: c.PlaceOrder


def stock_counts(rng: random.Random) -> list[tuple[str, str, int]]:
    """(sku, location, on hand): some SKUs scarce, so some orders backorder or are refused."""
    counts = []
    for sku in [*CATALOGUE, DISCONTINUED]:
        for location in LOCATIONS:
            scarce = sku in ("RUG-140", "LAMP-DESK")
            counts.append((sku, location, rng.randint(0, 4) if scarce else rng.randint(20, 60)))
    return counts


def day_of_orders(count: int, start: datetime, rng: random.Random) -> list[PlannedOrder]:
    """`count` orders between 08:00 and 20:00 of the demo day, busier around noon and evening."""
    planned = []
    for n in range(count):
        hour = rng.choice([8, 9, 10, 11, 12, 12, 13, 13, 14, 15, 16, 17, 18, 18, 19, 19])
        at = start.replace(hour=hour, minute=rng.randint(0, 59), second=rng.randint(0, 59))
        channel = rng.choices([ch for ch, _ in CHANNELS], [w for _, w in CHANNELS])[0]
        planned.append(PlannedOrder(at, _order(n, channel, rng)))
    return sorted(planned, key=lambda p: p.at)


def _order(n: int, channel: str, rng: random.Random) -> c.PlaceOrder:
    skus = rng.sample(list(CATALOGUE), k=rng.choice([1, 1, 1, 2, 2, 3]))
    if rng.random() < 0.03:
        skus.append(DISCONTINUED)
    lines = tuple(
        LineSpec(
            sku=sku,
            quantity=rng.choice([1, 1, 1, 2, 3]),
            unit_price=CATALOGUE.get(sku, Decimal("9.99")),
        )
        for sku in skus
    )
    shipping = Decimal("4.90") if channel == "web" else Decimal("0")
    total = sum((ln.unit_price * ln.quantity for ln in lines), shipping)
    name = rng.choice(NAMES)
    city, postal = rng.choice(CITIES)
    email = f"{name.split()[0].lower()}.{n}@example.com"
    return c.PlaceOrder(
        channel=channel,
        channel_order_ref=f"{channel.upper()[:3]}-{10000 + n}",
        customer=Customer(email=email, name=name, id=f"cust-{n}"),
        shipping_address=Address(
            name=name,
            line1=f"{rng.randint(1, 120)} Hauptstraße",
            city=city,
            postal_code=postal,
            country="DE",
        ),
        currency="EUR",
        lines=lines,
        payment_reference=f"pay_{channel}_{n:05d}",
        payment_amount=total,
        allow_backorder=rng.random() < 0.3,
        shipping_amount=shipping,
    )


def return_delay(rng: random.Random) -> timedelta:
    return timedelta(hours=rng.randint(12, 60))

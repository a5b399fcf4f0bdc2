"""Money stays exact, allocation respects stock and priority, refunds never exceed the goods."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.allocation import LocationPriority, plan_allocation
from domain.errors import ValidationFailed
from domain.inventory import StockKey, StockLevel
from domain.money import Money, minor_unit_exponent
from domain.returns import Return, ReturnLine, ReturnStatus

#: One currency of each minor-unit exponent: 2, 0 and 3 decimals.
CURRENCIES = st.sampled_from(("EUR", "JPY", "KWD"))
MINOR_UNITS = st.integers(-(10**11), 10**11)
PERCENTS = st.decimals(min_value=0, max_value=100, places=2)
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-minor_unit_exponent(currency))


def money(minor: int, currency: str) -> Money:
    return Money.of(decimal(minor, currency), currency)


def half_a_minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_unit_exponent(currency)) / 2


# -- money ---------------------------------------------------------------------------------------


@given(currency=CURRENCIES, a=MINOR_UNITS, b=MINOR_UNITS, n=st.integers(0, 1000))
def test_money_arithmetic_is_exact(currency: str, a: int, b: int, n: int) -> None:
    x, y = money(a, currency), money(b, currency)
    assert (x + y).amount == decimal(a + b, currency)
    assert (x - y).amount == decimal(a - b, currency)
    assert (x + y) - y == x
    assert (x * n).amount == decimal(a * n, currency)
    for result in (x + y, x - y, x * n):
        assert isinstance(result.amount, Decimal)
        assert result.currency == currency


@given(number=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_a_float_is_taken_only_when_it_is_exactly_an_amount_in_cents(number: float) -> None:
    """`Decimal(0.1)` is 0.1000000000000000055…: a float never slips in rounded."""
    try:
        amount = Money.of(number, "EUR")  # type: ignore[arg-type]
    except ValidationFailed:
        assert Decimal(number) != Decimal(number).quantize(Decimal("0.01"))
    else:
        assert amount.amount == Decimal(number)


@given(currency=CURRENCIES, minor=MINOR_UNITS)
def test_an_amount_with_more_decimals_than_the_currency_has_is_refused(
    currency: str, minor: int
) -> None:
    finer = Decimal(minor * 10 + 1).scaleb(-minor_unit_exponent(currency) - 1)
    with pytest.raises(ValidationFailed):
        Money.of(finer, currency)


@given(currency=CURRENCIES, minor=MINOR_UNITS, percent=PERCENTS)
def test_a_percentage_is_rounded_to_within_half_a_minor_unit(
    currency: str, minor: int, percent: Decimal
) -> None:
    amount = money(minor, currency)
    share = amount.percent(percent)
    exact = amount.amount * percent / 100
    assert abs(share.amount - exact) <= half_a_minor_unit(currency)
    assert share == Money.of(share.amount, currency)  # a whole number of minor units


# -- allocation ----------------------------------------------------------------------------------

LOCATIONS = ("dc-east", "dc-west", "store-12", "store-7")
PRIORITY = LocationPriority(("dc-west", "dc-east"))


@st.composite
def stock_and_needs(
    draw: st.DrawFn,
) -> tuple[dict[StockKey, StockLevel], list[tuple[str, int]]]:
    skus = draw(st.lists(st.sampled_from(("A", "B", "C")), min_size=1, max_size=3, unique=True))
    stock = {}
    for sku in skus:
        for location in draw(st.lists(st.sampled_from(LOCATIONS), max_size=4, unique=True)):
            # reserved may exceed on hand (shrinkage): such a level has nothing available
            on_hand, reserved = draw(st.integers(0, 6)), draw(st.integers(0, 6))
            stock[StockKey(sku, location)] = StockLevel(
                sku, location, on_hand=on_hand, reserved=reserved
            )
    # orders never repeat a SKU, so neither do the needs of one allocation
    needs = [(sku, draw(st.integers(1, 12))) for sku in draw(st.permutations(skus))]
    return stock, needs


@given(case=stock_and_needs())
def test_allocation_never_picks_more_than_is_available(
    case: tuple[dict[StockKey, StockLevel], list[tuple[str, int]]],
) -> None:
    stock, needs = case
    before = {key: (level.on_hand, level.reserved) for key, level in stock.items()}
    plan = plan_allocation(needs, stock, PRIORITY)
    for key, quantity in plan.picks:
        assert 0 < quantity <= stock[key].available
    assert len({key for key, _ in plan.picks}) == len(plan.picks)
    assert {key: (level.on_hand, level.reserved) for key, level in stock.items()} == before


@given(case=stock_and_needs())
def test_allocation_fills_each_line_from_locations_in_priority_order(
    case: tuple[dict[StockKey, StockLevel], list[tuple[str, int]]],
) -> None:
    stock, needs = case
    plan = plan_allocation(needs, stock, PRIORITY)
    shortages = {s.sku: s for s in plan.shortages}
    for sku, requested in needs:
        levels = {key.location: level for key, level in stock.items() if key.sku == sku}
        ranked = [loc for loc in PRIORITY.sort(levels) if levels[loc].available > 0]
        picked = [(key.location, q) for key, q in plan.picks if key.sku == sku]
        # the locations used are the first ones with stock, each emptied before the next is used
        assert [loc for loc, _ in picked] == ranked[: len(picked)]
        assert all(q == levels[loc].available for loc, q in picked[:-1])
        total = sum(q for _, q in picked)
        assert total == min(requested, sum(levels[loc].available for loc in ranked))
        if total < requested:
            assert (shortages[sku].requested, shortages[sku].available) == (requested, total)
        else:
            assert sku not in shortages


@given(locations=st.lists(st.sampled_from(LOCATIONS), unique=True))
def test_listed_locations_come_first_in_their_order_then_the_others_by_name(
    locations: list[str],
) -> None:
    ranked = PRIORITY.sort(locations)
    listed = [loc for loc in PRIORITY.order if loc in locations]
    assert ranked == listed + sorted(set(locations) - set(listed))


# -- refunds -------------------------------------------------------------------------------------


@st.composite
def received_returns(draw: st.DrawFn) -> Return:
    currency = draw(CURRENCIES)
    lines = []
    for sku in draw(st.lists(st.sampled_from(("A", "B", "C", "D")), min_size=1, unique=True)):
        quantity = draw(st.integers(1, 5))
        lines.append(
            ReturnLine(
                sku=sku,
                quantity=quantity,
                reason="damaged",
                unit_price=money(draw(st.integers(0, 10**8)), currency),
            )
        )
    ret = Return(
        id=uuid4(),
        order_id=uuid4(),
        lines=lines,
        restocking_fee_percent=draw(PERCENTS),
        status=ReturnStatus.AUTHORIZED,
        created_at=NOW,
        updated_at=NOW,
    )
    received = [(ln.sku, draw(st.integers(0, ln.quantity))) for ln in lines]
    ret.receive(received, Money.zero(currency), NOW)
    return ret


@given(ret=received_returns())
def test_a_refund_is_the_received_goods_less_the_fee_and_never_more_than_the_goods(
    ret: Return,
) -> None:
    assert ret.refund_amount is not None
    currency = ret.refund_amount.currency
    goods = sum((ln.unit_price.amount * ln.received for ln in ret.lines), Decimal(0))
    fee = goods - ret.refund_amount.amount
    assert Decimal(0) <= ret.refund_amount.amount <= goods
    assert abs(fee - goods * ret.restocking_fee_percent / 100) <= half_a_minor_unit(currency)
    assert ret.refund_amount == Money.of(ret.refund_amount.amount, currency)

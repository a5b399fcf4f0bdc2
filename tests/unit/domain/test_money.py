"""Money is exact, knows each currency's minor unit, and refuses to mix currencies."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import CurrencyMismatch, ValidationFailed
from domain.money import MAX_AMOUNT, Money, minor_unit_exponent, total
from tests.unit.domain.builders import issue_fields


def test_decimal_amounts_add_up_exactly() -> None:
    ten_cents = Money.of("0.10", "EUR")

    assert ten_cents + Money.of("0.20", "EUR") == Money.of("0.30", "EUR")
    assert total([ten_cents] * 10, "EUR") == Money.of("1.00", "EUR")


def test_multiplying_by_a_quantity_stays_exact() -> None:
    assert Money.of("19.99", "EUR") * 3 == Money.of("59.97", "EUR")


def test_a_sum_of_nothing_is_zero_in_the_currency() -> None:
    assert total([], "JPY") == Money.of(0, "JPY")


@pytest.mark.parametrize(
    ("currency", "exponent", "amount", "stored"),
    [("JPY", 0, "1500", "1500"), ("EUR", 2, "12.5", "12.50"), ("KWD", 3, "1.25", "1.250")],
)
def test_amounts_are_kept_to_the_currency_minor_unit(
    currency: str, exponent: int, amount: str, stored: str
) -> None:
    money = Money.of(amount, currency)

    assert minor_unit_exponent(currency) == exponent
    assert str(money.amount) == stored
    assert money.currency == currency


@pytest.mark.parametrize(
    ("currency", "amount"),
    [("JPY", "100.5"), ("EUR", "1.005"), ("EUR", "0.001"), ("KWD", "1.0005")],
)
def test_more_decimals_than_the_currency_has_are_refused(currency: str, amount: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        Money.of(amount, currency, field="lines[0].unit_price")

    assert issue_fields(refused.value) == ["lines[0].unit_price"]


def test_three_decimals_are_fine_for_a_three_decimal_currency() -> None:
    assert Money.of("1.005", "KWD").amount == Decimal("1.005")


def test_trailing_zeros_beyond_the_minor_unit_are_not_extra_decimals() -> None:
    assert Money.of("100.000", "JPY") == Money.of(100, "JPY")
    assert Money.of("2.5000", "EUR") == Money.of("2.50", "EUR")


def test_a_binary_float_is_refused_rather_than_rounded() -> None:
    with pytest.raises(ValidationFailed):
        Money.of(0.1, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", ["abc", "NaN", "Infinity"])
def test_something_that_is_not_a_finite_amount_is_refused(amount: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        Money.of(amount, "EUR")

    assert issue_fields(refused.value) == ["amount"]


def test_amounts_at_or_above_the_maximum_are_refused() -> None:
    with pytest.raises(ValidationFailed):
        Money.of(MAX_AMOUNT, "EUR")


@pytest.mark.parametrize("currency", ["USD", "MGA", "VED", "XCG"])
def test_every_active_two_decimal_currency_is_known(currency: str) -> None:
    assert Money.of("1.25", currency).amount == Decimal("1.25")


@pytest.mark.parametrize("currency", ["XXX", "eur", "EURO", ""])
def test_an_unknown_currency_is_refused_on_the_currency_field(currency: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        Money.of("1.00", currency)

    assert issue_fields(refused.value) == ["currency"]


def test_adding_amounts_in_different_currencies_raises_currency_mismatch() -> None:
    with pytest.raises(CurrencyMismatch):
        Money.of("1.00", "EUR") + Money.of("1.00", "GBP")


def test_subtracting_amounts_in_different_currencies_raises_currency_mismatch() -> None:
    with pytest.raises(CurrencyMismatch):
        Money.of("1.00", "EUR") - Money.of(1, "JPY")


def test_comparing_amounts_in_different_currencies_raises_currency_mismatch() -> None:
    euro, pound = Money.of("1.00", "EUR"), Money.of("1.00", "GBP")
    comparisons = [
        lambda: euro < pound,
        lambda: euro <= pound,
        lambda: euro > pound,
        lambda: euro >= pound,
    ]
    for compare in comparisons:
        with pytest.raises(CurrencyMismatch):
            compare()


def test_summing_a_foreign_amount_raises_currency_mismatch() -> None:
    with pytest.raises(CurrencyMismatch):
        total([Money.of("1.00", "EUR"), Money.of("1.00", "CHF")], "EUR")


def test_equal_amounts_in_different_currencies_are_not_equal() -> None:
    assert Money.of("1.00", "EUR") != Money.of("1.00", "GBP")


@pytest.mark.parametrize(
    ("amount", "currency", "percent", "share"),
    [
        ("0.25", "EUR", "10", "0.02"),  # 0.025 -> to the even cent below
        ("0.35", "EUR", "10", "0.04"),  # 0.035 -> to the even cent above
        ("10.10", "EUR", "5", "0.50"),  # 0.505 -> 0.50, where half-up would give 0.51
        ("25", "JPY", "10", "2"),  # 2.5 -> 2
        ("35", "JPY", "10", "4"),  # 3.5 -> 4
        ("0.025", "KWD", "10", "0.002"),  # 0.0025 -> 0.002
        ("0.035", "KWD", "10", "0.004"),  # 0.0035 -> 0.004
        ("39.98", "EUR", "15", "6.00"),  # 5.997 -> 6.00
    ],
)
def test_a_percentage_is_rounded_half_even_to_the_minor_unit(
    amount: str, currency: str, percent: str, share: str
) -> None:
    result = Money.of(amount, currency).percent(Decimal(percent))

    assert result == Money.of(share, currency)
    assert result.amount.as_tuple().exponent == -minor_unit_exponent(currency)


def test_a_fractional_percentage_is_exact_before_rounding() -> None:
    assert Money.of("200.00", "EUR").percent(Decimal("12.5")) == Money.of("25.00", "EUR")


def test_a_negative_amount_is_allowed_and_known_to_be_negative() -> None:
    assert Money.of("-1.00", "EUR").is_negative
    assert not Money.zero("EUR").is_negative

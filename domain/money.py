"""Exact money: a Decimal amount in an ISO 4217 currency, never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Final

from domain.errors import CurrencyMismatch, FieldIssue, ValidationFailed

#: Active ISO 4217 currencies and their minor-unit exponent.
_CURRENCY_EXPONENTS: Final[dict[str, int]] = {
    code: exponent
    for exponent, codes in (
        (
            2,
            "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN "
            "BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL "
            "GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK "
            "LBP LKR LRD LSL MAD MDL MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK "
            "NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS "
            "SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH UYU UZS VES WST XCD YER "
            "USD VED XCG ZAR ZMW ZWG MGA",
        ),
        (0, "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"),
        (3, "BHD IQD JOD KWD LYD OMR TND"),
    )
    for code in codes.split()
}


#: Larger amounts are refused as input errors (and stay far inside Decimal's precision).
MAX_AMOUNT: Final = Decimal(10) ** 12


def is_known_currency(code: str) -> bool:
    """True for an active ISO 4217 currency code (upper case)."""
    return code in _CURRENCY_EXPONENTS


def minor_unit_exponent(currency: str) -> int:
    """How many decimal places the currency's smallest unit has (2 for EUR, 0 for JPY)."""
    return _CURRENCY_EXPONENTS[currency]


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency; arithmetic across currencies raises `CurrencyMismatch`."""

    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str, *, field: str = "amount") -> Money:
        """Build a money value, refusing unknown currencies and more decimals than the currency has."""
        if not is_known_currency(currency):
            raise ValidationFailed([FieldIssue("currency", f"unknown currency {currency!r}")])
        try:
            value = Decimal(amount)
        except (InvalidOperation, ValueError, TypeError) as e:
            raise ValidationFailed([FieldIssue(field, f"not a decimal amount: {amount!r}")]) from e
        if not value.is_finite() or abs(value) >= MAX_AMOUNT:
            raise ValidationFailed([FieldIssue(field, f"amount must be below {MAX_AMOUNT:,}")])
        quantum = Decimal(1).scaleb(-minor_unit_exponent(currency))
        if value != value.quantize(quantum, rounding=ROUND_HALF_EVEN):
            places = minor_unit_exponent(currency)
            raise ValidationFailed(
                [FieldIssue(field, f"{currency} amounts have at most {places} decimals")]
            )
        return cls(value.quantize(quantum), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls.of(0, currency)

    def __add__(self, other: Money) -> Money:
        self._ensure_same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._ensure_same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, quantity: int) -> Money:
        return Money(self.amount * quantity, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._ensure_same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._ensure_same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._ensure_same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._ensure_same_currency(other)
        return self.amount >= other.amount

    def percent(self, percent: Decimal) -> Money:
        """This amount times `percent` / 100, rounded half-even to the currency's minor unit."""
        quantum = Decimal(1).scaleb(-minor_unit_exponent(self.currency))
        share = (self.amount * percent / 100).quantize(quantum, rounding=ROUND_HALF_EVEN)
        return Money(share, self.currency)

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def _ensure_same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(self.currency, other.currency)


def total(amounts: list[Money], currency: str) -> Money:
    """The sum of `amounts`, all in `currency` (zero for an empty list)."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result

"""Money as integer minor units (fen) with an ISO currency code; never floats."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision

DEFAULT_CURRENCY = "CNY"
# Prices above this are refused as typos (¥1,000,000.00).
MAX_PRICE_FEN = 100_000_000
_AMOUNT_PATTERN = re.compile(r"(\d{1,12})(?:\.(\d{1,2}))?")


class MoneyError(ValueError):
    """Money used the wrong way: mixed currencies, bad shares, unparseable amounts."""


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units (fen for CNY) and its currency."""

    amount: int
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise MoneyError(f"amount must be an int of minor units, got {self.amount!r}")
        if not (isinstance(self.currency, str) and re.fullmatch(r"[A-Z]{3}", self.currency)):
            raise MoneyError(f"currency must be an ISO code, got {self.currency!r}")

    @classmethod
    def zero(cls, currency: str = DEFAULT_CURRENCY) -> Money:
        """Nothing, in `currency`."""
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str = DEFAULT_CURRENCY) -> Money:
        """Read what a person types ("12", "12.5", "¥1280.00") into fen; no floats."""
        cleaned = str(text).strip().strip("¥￥元").strip()
        cleaned = re.sub(r",(?=\d{3}(?:\D|$))", "", cleaned)
        match = _AMOUNT_PATTERN.fullmatch(cleaned)
        if not match:
            raise MoneyError(f"not an amount: {text!r}")
        whole, fraction = match.group(1), (match.group(2) or "").ljust(2, "0")
        return cls(int(whole) * 100 + int(fraction), currency)

    @classmethod
    def from_decimal(cls, value: Decimal, currency: str = DEFAULT_CURRENCY) -> Money:
        """Exact conversion from a Decimal in major units; refuses fractions of a fen."""
        try:
            minor = value * (10 ** get_currency_precision(currency))
        except InvalidOperation as exc:
            raise MoneyError(f"not an amount: {value!r}") from exc
        if minor != minor.to_integral_value():
            raise MoneyError(f"{value} has more decimals than {currency} allows")
        return cls(int(minor), currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise MoneyError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, quantity: int) -> Money:
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise MoneyError("money is multiplied by whole quantities only")
        return Money(self.amount * quantity, self.currency)

    __rmul__ = __mul__

    # Ordering only within one currency: ¥1 is not "less than" $2.
    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __bool__(self) -> bool:
        return self.amount != 0

    @property
    def decimal(self) -> Decimal:
        """The amount in major units (yuan), exact."""
        return Decimal(self.amount).scaleb(-get_currency_precision(self.currency))

    def allocate(self, shares: list[int]) -> list[Money]:
        """Split into parts proportional to `shares` that add up exactly.

        Largest remainder: each part gets its floor, then the fen left over go one
        each to the parts with the largest remainders (earlier parts win ties).
        """
        if not shares or any(s < 0 for s in shares) or sum(shares) <= 0:
            raise MoneyError("shares must be non-negative and add up to more than zero")
        total = sum(shares)
        sign = -1 if self.amount < 0 else 1
        amount = abs(self.amount)
        floors = [amount * s // total for s in shares]
        remainders = [amount * s % total for s in shares]
        left = amount - sum(floors)
        order = sorted(range(len(shares)), key=lambda i: (-remainders[i], i))
        for i in order[:left]:
            floors[i] += 1
        return [Money(sign * part, self.currency) for part in floors]

    def format(self, locale: str | None = None) -> str:
        """Show for people, e.g. ¥1,280.00, in the given or current locale."""
        if locale is None:
            from core.i18n import current_locale_name

            locale = current_locale_name()
        return _formatted(self.amount, self.currency, locale)

    def __str__(self) -> str:
        return self.format()


@lru_cache(maxsize=8192)
def _formatted(amount: int, currency: str, locale: str) -> str:
    # Babel looks up and applies the locale's pattern on every call (about 40 us); a
    # shop shows the same few hundred prices over and over, on every page and mail.
    return format_currency(Money(amount, currency).decimal, currency, locale=locale)


def total(amounts, currency: str = DEFAULT_CURRENCY) -> Money:
    """Sum Money values; an empty sum is zero in `currency`."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result

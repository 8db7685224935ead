"""Money: integer fen, no currency mixing, exact splits, Chinese and English display."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import Money, MoneyError, total


def test_arithmetic_stays_in_fen():
    price = Money(1280)
    assert price + Money(20) == Money(1300)
    assert price - Money(1300) == Money(-20)
    assert price * 3 == Money(3840)
    assert 3 * price == Money(3840)
    assert -price == Money(-1280)
    assert not Money.zero()
    assert Money(1)
    assert price.decimal == Decimal("12.80")
    assert total([Money(1), Money(2), Money(3)]) == Money(6)
    assert total([]) == Money.zero()


@pytest.mark.parametrize("operation", [
    lambda: Money(100, "CNY") + Money(100, "USD"),
    lambda: Money(100, "CNY") - Money(100, "USD"),
    lambda: Money(100, "CNY") + 100,
    lambda: Money(100) * 1.5,
    lambda: Money(100) * Money(2),
    lambda: Money(100) * True,
    lambda: Money(100, "CNY") < Money(200, "USD"),
    lambda: Money(100, "CNY") >= Money(200, "USD"),
    lambda: total([Money(1, "USD")]),
])
def test_mixing_currencies_or_types_is_refused(operation):
    with pytest.raises(MoneyError):
        operation()


def test_same_currency_amounts_compare():
    assert Money(100) < Money(200)
    assert Money(300) >= Money(200)
    assert max([Money(5), Money(9), Money(1)]) == Money(9)


@pytest.mark.parametrize("amount, currency", [
    (1.5, "CNY"), ("100", "CNY"), (True, "CNY"), (100, "cny"), (100, "YUAN"), (100, None),
])
def test_bad_construction_is_refused(amount, currency):
    with pytest.raises(MoneyError):
        Money(amount, currency)


@pytest.mark.parametrize("typed, fen", [
    ("12", 1200), ("12.5", 1250), ("12.50", 1250), ("0.01", 1), (" 7 ", 700),
    ("¥1,280.00", 128000), ("￥1280", 128000), ("1280元", 128000), ("1,234,567.89", 123456789),
])
def test_parse_typed_amounts(typed, fen):
    assert Money.parse(typed) == Money(fen)


@pytest.mark.parametrize("typed", [
    "-1", "1.234", "abc", "", "12.", ".5", "1e3", "1,2", "12 34", "¥", "NaN", "--5",
    "<script>1</script>", "9" * 40,
])
def test_parse_refuses_what_is_not_an_amount(typed):
    with pytest.raises(MoneyError):
        Money.parse(typed)


def test_from_decimal_is_exact():
    assert Money.from_decimal(Decimal("12.34")) == Money(1234)
    with pytest.raises(MoneyError):
        Money.from_decimal(Decimal("12.345"))


def test_allocate_examples():
    assert Money(100).allocate([1, 1, 1]) == [Money(34), Money(33), Money(33)]
    assert Money(5).allocate([3, 7]) == [Money(2), Money(3)]
    assert Money(-100).allocate([1, 1, 1]) == [Money(-34), Money(-33), Money(-33)]
    assert Money(0).allocate([1, 2]) == [Money(0), Money(0)]
    assert Money(10).allocate([0, 1]) == [Money(0), Money(10)]


@pytest.mark.parametrize("shares", [[], [0, 0], [-1, 2], [1, -1, 5]])
def test_allocate_refuses_bad_shares(shares):
    with pytest.raises(MoneyError):
        Money(100).allocate(shares)


@given(amount=st.integers(min_value=-10**12, max_value=10**12),
       shares=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=30)
       .filter(lambda s: sum(s) > 0))
def test_allocate_is_exact_fair_and_deterministic(amount, shares):
    parts = Money(amount, "CNY").allocate(shares)
    assert len(parts) == len(shares)
    assert sum(p.amount for p in parts) == amount
    whole = sum(shares)
    for part, share in zip(parts, shares, strict=True):
        exact = Decimal(amount) * share / whole
        assert abs(Decimal(part.amount) - exact) < 1
        if share == 0:
            assert part.amount == 0
    # Equal shares differ by at most one fen, and the earlier part gets the extra one.
    for i in range(len(shares)):
        for j in range(i + 1, len(shares)):
            if shares[i] == shares[j]:
                assert abs(parts[i].amount) >= abs(parts[j].amount)
                assert abs(parts[i].amount - parts[j].amount) <= 1
    assert Money(amount).allocate(shares) == parts
    # A negative amount splits as the mirror image of the positive one.
    negated = Money(-amount).allocate(shares)
    assert [-p.amount for p in negated] == [p.amount for p in parts]


@pytest.mark.parametrize("fen, locale, shown", [
    (128000, "zh_Hans_CN", "¥1,280.00"),
    (5, "zh_Hans_CN", "¥0.05"),
    (-1250, "zh_Hans_CN", "-¥12.50"),
    (128000, "en", "CN¥1,280.00"),
])
def test_format(fen, locale, shown):
    assert Money(fen).format(locale) == shown


def test_str_uses_the_current_locale(app):
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert str(Money(128000)) == "CN¥1,280.00"
    with app.test_request_context("/"):
        assert str(Money(128000)) == "¥1,280.00"

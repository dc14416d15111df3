"""Money arithmetic: Decimal only, rounded half up in one place."""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from backroom.core.errors import shown

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def round_money(amount: Decimal) -> Decimal:
    """Round an amount half up to the cent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    """Return `percent` % of `amount`, rounded half up to the cent."""
    return round_money(amount * percent / HUNDRED)


def round_cash(amount: Decimal, step: Decimal) -> Decimal:
    """Round an amount half up to the cash step (0.05, 0.10); a zero step leaves cents."""
    if step <= 0:
        return round_money(amount)
    units = (amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return round_money(units * step)


PLAIN_DECIMAL = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\Z")
# Amounts are stored with 12 digits, 2 of them after the point.
MAX_AMOUNT = Decimal("9999999999.99")


def parse_money(value: object, places: int = 2) -> Decimal:
    """Parse a decimal string with at most `places` decimals; raise ValueError otherwise."""
    # The example in messages: an amount of money, or a percentage when places differ.
    example = '"34.00"' if places == 2 else '"7.5"'
    if isinstance(value, bool) or not isinstance(value, str | Decimal):
        raise ValueError(f"is not text; send the number as a decimal string in quotes, such "
                         f"as {example}")
    if isinstance(value, str) and not PLAIN_DECIMAL.match(value.strip()):
        raise ValueError(f"{shown(value)!r} is not a plain decimal number; give digits with "
                         f"at most one point, such as {example}")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{shown(value)!r} is not a decimal number; give one such as "
                         f"{example}") from None
    if not amount.is_finite():
        raise ValueError(f"{shown(value)!r} is not a finite number; give one such as "
                         f"{example}")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise ValueError(f"{shown(value)!r} has more than {places} decimal places; round it "
                         f"to {places}")
    if amount == 0:
        # "-0" is zero, and is stored and shown as zero.
        amount = abs(amount)
    if abs(amount) > MAX_AMOUNT:
        raise ValueError(f"{shown(value)!r} is too large; give at most {MAX_AMOUNT}")
    return amount


def format_money(amount: Decimal | int) -> str:
    """Write an amount with two decimals, as the API shows money: "4.00"."""
    return str(round_money(Decimal(amount)))


def format_percent(value: Decimal) -> str:
    """Write a percentage without trailing zeros or exponent: "25", "7.5", "8.25"."""
    return format(value.normalize(), "f")

"""Field types shared by the API's request bodies."""

import datetime
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from ninja import Schema
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    model_validator,
)
from pydantic_core import PydanticCustomError

from backroom.core.errors import ValidationFailed, shown
from backroom.core.money import PLAIN_DECIMAL, parse_money

# An amount in a request body: digits, a minus sign for a negative amount, and a point
# with digits after it. Spaces, a plus sign and a bare point are not part of one.
AMOUNT_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _amount_text(value: Any, example: str) -> Any:
    if isinstance(value, str) and PLAIN_DECIMAL.match(value.strip()) \
            and not AMOUNT_TEXT.fullmatch(value):
        raise ValueError(f"{shown(value)!r} is not written as a number; give digits alone, "
                         "with a minus sign if negative and a point before the decimals, such "
                         f"as {example}")
    return value


def _money(value: Any) -> Decimal:
    return parse_money(_amount_text(value, '"34.00"'))


def _percent(value: Any) -> Decimal:
    return parse_money(_amount_text(value, '"7.5"'), places=3)


# A decimal string with at most two places; a JSON number is rejected.
Money = Annotated[Decimal, BeforeValidator(_money),
                  PlainSerializer(str, return_type=str, when_used="json")]
# A percentage as a decimal string ("10", "7.5").
Percent = Annotated[Decimal, BeforeValidator(_percent),
                    PlainSerializer(str, return_type=str, when_used="json")]
# Whole units; a line, an adjustment or a PO line never moves more than this.
MAX_QUANTITY = 1_000_000
# The largest value an id column holds: a 64-bit signed integer on both databases.
MAX_ID = 2**63 - 1
Quantity = Annotated[StrictInt, Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY)]


DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date_text(value: Any) -> Any:
    if isinstance(value, datetime.date) or (isinstance(value, str)
                                            and DATE_TEXT.fullmatch(value)):
        return value
    raise PydanticCustomError("date_type", "is not a date")


# A calendar date written as text, 2026-12-31; a number such as a Unix time is rejected.
Day = Annotated[datetime.date, BeforeValidator(_date_text)]


def _digits_alone(problem: str) -> Callable[[Any], Any]:
    """Return a validator that rejects text other than ASCII digits with `problem`, which
    follows the value in the message."""
    def check(value: Any) -> Any:
        if isinstance(value, str) and not (value.isascii() and value.isdigit()):
            raise ValueError(f"'{shown(value)}' {problem}")
        return value
    return check


# A whole number in a query string: digits alone (" 5", "+5" and "1_0" are not).
QueryInt = Annotated[int, BeforeValidator(
    _digits_alone("is not a whole number; give digits alone, such as 50."))]

# An id in an address: digits alone, as ids in a body are whole numbers alone ("12", not
# " 12" or "12.0").
PathId = Annotated[int, BeforeValidator(
    _digits_alone("is not an id; give the number alone, such as 12."))]


class RequestBody(Schema):
    """A request body: an unknown field is an error, so a typo is never ignored."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _reject_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("text must not contain the NUL character (\\u0000)")
        return data


class ChangeBody(RequestBody):
    """A PATCH body: the fields given are changed and the fields left out kept."""

    def changes(self) -> dict[str, Any]:
        """Return the fields the body gives, with their values. A null is rejected, because
        a PATCH never empties a field."""
        changes = self.model_dump(exclude_unset=True)
        for field, value in changes.items():
            if value is None:
                raise ValidationFailed(
                    f"{field} is null; give a value, or leave {field} out to keep the "
                    "current one.", field=field)
        return changes


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False

"""Field types shared by the API's request bodies."""

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, StrictInt

from backroom.core.money import parse_money


def _money(value: Any) -> Decimal:
    return parse_money(value)


def _percent(value: Any) -> Decimal:
    return parse_money(value, places=3)


# A decimal string with at most two places; a JSON number is rejected.
Money = Annotated[Decimal, BeforeValidator(_money),
                  PlainSerializer(str, return_type=str, when_used="json")]
# A percentage as a decimal string ("10", "7.5").
Percent = Annotated[Decimal, BeforeValidator(_percent),
                    PlainSerializer(str, return_type=str, when_used="json")]
Quantity = StrictInt

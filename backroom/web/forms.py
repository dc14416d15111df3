"""Form state of the counter screens: typed values, errors per field, approval prompts.

Screens parse what was typed into plain values, call a service, and on a
BackroomError show its sentence next to the field the error names, with
every typed value kept.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.http import QueryDict

from backroom.core.errors import BackroomError, InvalidState
from backroom.core.money import MAX_AMOUNT, PLAIN_DECIMAL, parse_money
from backroom.core.sql import id_fits

# The largest quantity a counter form accepts, as the engine limits lines and adjustments.
MAX_QUANTITY = 1_000_000


@dataclass
class Approval:
    """A manager approval prompt for one guarded action."""

    permission: str
    detail: str
    action: str = ""
    error: str = ""
    username: str = ""


@dataclass
class FormState:
    """The typed values, field errors and approval prompt of one form after a failed submit."""

    name: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""
    approval: Approval | None = None
    # The record's state no longer allows the action, as on a page that went stale. The
    # form may no longer be shown, so the page shows the message at its top.
    stale: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.message or self.approval)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def show(self, error: BackroomError, fields: dict[str, str] | None = None) -> None:
        """Put an error next to its field; `fields` maps service field names to form names."""
        fields = fields or {}
        rows = error.errors or [{"field": error.field or "", "message": error.detail}]
        placed = False
        for row in rows:
            name = fields.get(row["field"], row["field"])
            if name and name in self.values:
                self.add(name, row["message"])
                placed = True
        if not placed:
            self.message = error.detail
            self.stale = isinstance(error, InvalidState)


def form_state(name: str, data: QueryDict) -> FormState:
    values = {key: data.get(key, "") for key in data if not key.startswith("approver_")}
    values.pop("csrfmiddlewaretoken", None)
    return FormState(name=name, values=values)


# Digits grouped in threes by commas, the first group without a leading zero, with or
# without decimals after a point.
THOUSANDS = re.compile(r"[+-]?[1-9][0-9]{0,2}(,[0-9]{3})+(\.[0-9]*)?")


def id_value(text: str) -> int | None:
    """Return the id that `text` writes in ASCII digits, or None for any other text and for
    numbers beyond the id columns."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 20:
        return None
    value = int(text)
    return value if id_fits(value) else None


def parse_quantity(state: FormState, name: str, *, minimum: int = 1,
                   maximum: int = MAX_QUANTITY, required: bool = True) -> int | None:
    """Parse a whole number of units; record an error and return None when invalid."""
    text = str(state.values.get(name, "")).strip()
    if not text:
        if required:
            state.add(name, "Enter a quantity.")
        return None
    if not re.fullmatch(r"-?[0-9]+", text):
        state.add(name, f"'{text}' is not a whole number.")
        return None
    # int() rejects more than 4300 digits, and any 31-digit number is out of range anyway.
    if len(text) <= 30:
        value = int(text)
    elif text.startswith("-"):
        value = -10**30
    else:
        value = 10**30
    if value > maximum:
        state.add(name, f"'{text}' is too large; enter at most {maximum:,}.")
        return None
    if value < minimum:
        state.add(name, f"Enter {minimum} or more.")
        return None
    return value


def parse_amount(state: FormState, name: str, *, required: bool = True,
                 places: int = 2) -> Decimal | None:
    """Parse a decimal amount such as 34.00 or 1,250.00; record an error and return None
    when invalid."""
    text = str(state.values.get(name, "")).strip()
    if not text:
        if required:
            state.add(name, "Enter an amount.")
        return None
    if "," in text:
        # A comma only separates thousands: "5,00" is not read as 500.
        if not THOUSANDS.fullmatch(text):
            state.add(name, f"'{text}' is not an amount; write decimals after a point, as in "
                            "5.00, and commas only between thousands, as in 1,250.00.")
            return None
        text = text.replace(",", "")
    try:
        value = parse_money(text, places)
    except ValueError:
        if PLAIN_DECIMAL.match(text) and abs(Decimal(text)) > MAX_AMOUNT:
            state.add(name, f"'{text}' is too large; enter at most {MAX_AMOUNT:,}.")
        else:
            state.add(name, f"'{text}' is not an amount with at most {places} decimals.")
        return None
    if value < 0:
        state.add(name, "Enter 0 or more.")
        return None
    return value


def checked(state: FormState, name: str) -> bool:
    return str(state.values.get(name, "")).lower() in {"1", "on", "true", "yes"}

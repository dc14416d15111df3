"""Audit trail: events collected during a service and written in one insert."""

import json
from decimal import Decimal
from functools import cache
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, models
from django.utils import timezone

from backroom.core import sql
from backroom.core.bulk import json_element
from backroom.core.models import Event

EVENT_COLUMNS = ("at", "user_id", "action", "order_id", "item_id", "purchase_order_id",
                 "detail")


class AuditLog:
    """Collects the events of one service call; `flush` writes them together.

    Events are kept as plain tuples and written with one INSERT that reads
    them from a single JSON parameter, without a model instance or a
    parameter per event: a receipt or a large order writes thousands of
    them. All events of one flush share its timestamp.
    """

    def __init__(self, user: AbstractBaseUser | AnonymousUser | None) -> None:
        self.user: Any = user if user is not None and user.is_authenticated else None
        self.events: list[tuple[str, int | None, int | None, int | None, dict[str, Any]]] = []

    def add(self, action: str, *, order: Any = None, item: Any = None,
            purchase_order: Any = None, **detail: Any) -> None:
        """Record an action; `order`, `item` and `purchase_order` take a row or its id.

        The detail is encoded when the log is flushed: pass values that do not
        change in between (numbers, text, fresh lists).
        """
        self.events.append((action, _pk(order), _pk(item), _pk(purchase_order), detail))

    def flush(self) -> None:
        if not self.events:
            return
        db = sql.database()
        at = db.ops.adapt_datetimefield_value(timezone.now())
        user_id = self.user.pk if self.user is not None else None
        sql.write(_insert_sql(db.vendor),
                    [at, user_id, json.dumps(self.events, default=_decimal_text)])
        self.events = []


@cache
def _insert_sql(vendor: str) -> str:
    """Return the INSERT of a flush's events from one JSON parameter, built once."""
    quote = connection.ops.quote_name
    meta = Event._meta
    if vendor == "postgresql":
        values = []
        for index, name in enumerate(("action", "order", "item", "purchase_order")):
            field = meta.get_field(name)
            assert isinstance(field, models.Field)
            values.append(json_element(index, field))
        values.append("(source.value -> 4)")
        source = "jsonb_array_elements(%s::jsonb) AS source(value)"
    else:
        values = [f"json_extract(source.value, '$[{index}]')" for index in range(5)]
        source = "json_each(%s) AS source"
    columns = ", ".join(quote(column) for column in EVENT_COLUMNS)
    return (f"INSERT INTO {quote(meta.db_table)} ({columns}) "
            f"SELECT %s, %s, {', '.join(values)} FROM {source}")


def _pk(row: Any) -> int | None:
    if row is None or isinstance(row, int):
        return row
    return int(row.pk)


def _decimal_text(value: Any) -> str:
    """Return a Decimal as a string, so the audit log never contains a float."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} value {value!r} cannot go into the audit log")

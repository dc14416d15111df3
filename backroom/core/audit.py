"""Audit trail: events collected during a service and written in one insert."""

import json
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.utils import timezone

from backroom.core.models import Event

EVENT_COLUMNS = ("at", "user_id", "action", "order_id", "item_id", "purchase_order_id",
                 "detail")
# Rows per INSERT statement; 7 parameters each stays under SQLite's 32,766 limit.
INSERT_BATCH = 1000


class AuditLog:
    """Collects the events of one service call; `flush` writes them together.

    Events are kept as plain tuples and written with one multi-row INSERT per
    thousand events, without building a model instance each: a receipt or a
    large order writes thousands of them. All events of one flush share its
    timestamp.
    """

    def __init__(self, user: AbstractBaseUser | AnonymousUser | None) -> None:
        self.user: Any = user if user is not None and user.is_authenticated else None
        self.events: list[tuple[str, int | None, int | None, int | None, dict[str, Any]]] = []

    def add(self, action: str, *, order: Any = None, item: Any = None,
            purchase_order: Any = None, **detail: Any) -> None:
        """Record an action; `order`, `item` and `purchase_order` take a row or its id."""
        self.events.append((action, _pk(order), _pk(item), _pk(purchase_order),
                            _jsonable(detail)))

    def flush(self) -> None:
        if not self.events:
            return
        at = connection.ops.adapt_datetimefield_value(timezone.now())
        user_id = self.user.pk if self.user is not None else None
        if connection.vendor == "postgresql":
            self._flush_from_json(at, user_id)
            return
        adapt_json = connection.ops.adapt_json_value
        quote = connection.ops.quote_name
        table = quote(Event._meta.db_table)
        columns = ", ".join(quote(column) for column in EVENT_COLUMNS)
        with connection.cursor() as cursor:
            for start in range(0, len(self.events), INSERT_BATCH):
                batch = self.events[start:start + INSERT_BATCH]
                params: list[Any] = []
                for action, order_id, item_id, purchase_order_id, detail in batch:
                    params.extend((at, user_id, action, order_id, item_id, purchase_order_id,
                                   adapt_json(detail, None)))
                row = "(" + ", ".join(["%s"] * len(EVENT_COLUMNS)) + ")"
                cursor.execute(f"INSERT INTO {table} ({columns}) VALUES "
                               + ", ".join([row] * len(batch)), params)
        self.events = []

    def _flush_from_json(self, at: Any, user_id: int | None) -> None:
        """Insert the events from one JSON parameter (PostgreSQL).

        psycopg splits a statement at each of its placeholders in Python, which
        for seven thousand parameters costs more than the INSERT itself.
        """
        quote = connection.ops.quote_name
        meta = Event._meta
        casts = ["(event ->> 0)",
                 *(f"(event ->> {index})::{meta.get_field(name).db_type(connection)}"
                   for index, name in enumerate(("order", "item", "purchase_order"), start=1)),
                 "(event -> 4)"]
        columns = ", ".join(quote(column) for column in EVENT_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) "
                f"SELECT %s, %s, {', '.join(casts)} "
                f"FROM jsonb_array_elements(%s::jsonb) AS event",
                [at, user_id, json.dumps(self.events)])
        self.events = []


def _pk(row: Any) -> int | None:
    if row is None or isinstance(row, int):
        return row
    return int(row.pk)


def _jsonable(value: Any) -> Any:
    """Turn Decimals into strings so the audit log never holds a float."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value

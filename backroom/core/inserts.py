"""Inserting many model instances with plain multi-row INSERT statements.

Django's `bulk_create` compiles every value of every row through the field
and expression machinery, which costs more than the INSERT itself for the
hundreds of order lines, requests and notices a service writes. `insert_all`
writes the same rows with the same database values and sets their primary
keys from `RETURNING`, like `bulk_create` does on SQLite 3.35+ and PostgreSQL.
"""

from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import connection, models

# Rows per statement: SQLite accepts at most 32,766 parameters per statement.
MAX_PARAMETERS = 30_000

# Fields whose Python values are already what the database drivers take.
_PLAIN_FIELDS = (models.IntegerField, models.BooleanField, models.CharField,
                 models.TextField, models.ForeignKey)


def insert_all(model: type[models.Model], rows: Sequence[models.Model]) -> None:
    """Insert `rows` (unsaved instances of `model`) and set their primary keys."""
    if not rows:
        return
    fields = _insert_fields(model)
    quote = connection.ops.quote_name
    meta = model._meta
    table = quote(meta.db_table)
    columns = ", ".join(quote(str(field.column)) for field, _ in fields)
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, MAX_PARAMETERS // len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            batch = rows[start:start + per_statement]
            params: list[Any] = []
            for row in batch:
                for field, adapt in fields:
                    params.append(adapt(row, field))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES "
                f"{', '.join([placeholder] * len(batch))} "
                f"RETURNING {quote(str(meta.pk.column))}", params)
            for row, (pk,) in zip(batch, cursor.fetchall(), strict=True):
                row.pk = pk
                row._state.adding = False
                row._state.db = connection.alias


Adapter = Callable[[models.Model, models.Field], Any]


@cache
def _insert_fields(model: type[models.Model]) -> list[tuple[models.Field, Adapter]]:
    """Return the model's inserted fields (all concrete ones but the primary key),
    each with the function that turns an instance's value into the database value."""
    fields = []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        fields.append((field, _adapter(field)))
    return fields


def _adapter(field: models.Field) -> Adapter:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return _prepared
    if isinstance(field, _PLAIN_FIELDS):
        return _plain
    if isinstance(field, models.DecimalField):
        return _decimal
    return _prepared


def _plain(row: models.Model, field: models.Field) -> Any:
    return getattr(row, field.attname)


def _decimal(row: models.Model, field: models.Field) -> Any:
    value = getattr(row, field.attname)
    if value is None or isinstance(value, Decimal):
        return connection.ops.adapt_decimalfield_value(value, field.max_digits,
                                                       field.decimal_places)
    return field.get_db_prep_save(value, connection)


def _prepared(row: models.Model, field: models.Field) -> Any:
    return field.get_db_prep_save(field.pre_save(row, True), connection)

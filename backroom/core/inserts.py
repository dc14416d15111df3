"""Inserting many model instances with plain multi-row INSERT statements.

Django's `bulk_create` compiles every value of every row through the field
and expression machinery, which costs more than the INSERT itself for the
hundreds of order lines, requests and notices a service writes. `insert_all`
writes the same rows with the same database values and sets their primary
keys from `RETURNING`, like `bulk_create` does on SQLite 3.35+ and PostgreSQL.
Rows that need no model instance and no primary key back go in through
`backroom.core.bulk.insert_rows` instead.
"""

import datetime
import json
import operator
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, models, router

from backroom.core import sql
from backroom.core.bulk import json_element, json_value
from backroom.core.numbers import NUMBER_OFFSET, document_number, placeholder_number

ModelT = TypeVar("ModelT", bound=models.Model)

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
    read = _values_reader(model, numbered=False)
    db = sql.database()
    if db.vendor == "postgresql" or (len(rows) > 1 and db.vendor == "sqlite"):
        # One JSON parameter and one statement text for any number of rows. psycopg
        # splits a statement at each of its placeholders in Python, which for
        # hundreds of them costs more than the INSERT. SQLite would parse the
        # statement again for each new number of rows.
        values = [read(row) for row in rows]
        _keys_set(rows, sql.write_returning(_json_insert_sql(model, db.vendor),
                                            [json.dumps(values, default=json_value)]))
        return
    quote = db.ops.quote_name
    meta = model._meta
    table = quote(meta.db_table)
    columns = ", ".join(quote(str(field.column)) for field in fields)
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, MAX_PARAMETERS // len(fields))
    for start in range(0, len(rows), per_statement):
        batch = rows[start:start + per_statement]
        params = [value for row in batch for value in read(row)]
        _keys_set(batch, sql.fetch_all(
            f"INSERT INTO {table} ({columns}) VALUES "
            f"{', '.join([placeholder] * len(batch))} "
            f"RETURNING {quote(str(meta.pk.column))}", params))


def insert_numbered(model: type[models.Model], row: models.Model, prefix: str) -> None:
    """Insert `row`, an unsaved instance of `model`, with the document number that its key
    gives after `prefix`, and set both on it.

    On PostgreSQL the key is drawn from the table's sequence in the INSERT
    itself, so one statement writes the row with its number. Elsewhere the row
    goes in with a stand-in number that an UPDATE then replaces.
    """
    if sql.database().vendor == "postgresql":
        read = _values_reader(model, numbered=True)
        _keys_set([row], sql.write_returning(_numbered_insert_sql(model), [
            prefix, json.dumps([read(row)], default=json_value)]))
    else:
        row.number = placeholder_number()  # type: ignore[attr-defined]
        insert_all(model, [row])
        sql.execute(_number_update_sql(model), [document_number(prefix, row.pk), row.pk])
    row.number = document_number(prefix, row.pk)  # type: ignore[attr-defined]


@cache
def _numbered_fields(model: type[models.Model]) -> list[models.Field]:
    return [field for field in _insert_fields(model) if field.name != "number"]


@cache
def _numbered_insert_sql(model: type[models.Model]) -> str:
    """Return the PostgreSQL INSERT of one row from a JSON array, with its key taken from
    the key's sequence and its number made from the key. Parameters: the prefix, the
    JSON array."""
    quote = connection.ops.quote_name
    fields = _numbered_fields(model)
    table = str(model._meta.db_table)
    key = str(model._meta.pk.column)
    values = ", ".join(json_element(index, field) for index, field in enumerate(fields))
    columns = ", ".join(quote(str(field.column)) for field in fields)
    return (f"INSERT INTO {quote(table)} ({quote(key)}, {columns}, {quote('number')}) "
            f"SELECT next_key.value, {values}, %s || (next_key.value + {NUMBER_OFFSET}) "
            f"FROM json_array_elements(%s::json) AS source(value), "
            f"(SELECT nextval(pg_get_serial_sequence('{quote(table)}', '{key}')) AS value) "
            f"AS next_key RETURNING {quote(key)}")


@cache
def _number_update_sql(model: type[models.Model]) -> str:
    quote = connection.ops.quote_name
    return (f"UPDATE {quote(model._meta.db_table)} SET {quote('number')} = %s "
            f"WHERE {quote(str(model._meta.pk.column))} = %s")


def new_instance(model: type[ModelT], **values: Any) -> ModelT:
    """Return an unsaved instance of `model`, equal to `model(**values)`.

    `values` are given by field attname (`item_id`) or, for a foreign key, by
    name with the related instance (`item=item`), which the instance keeps as
    `model(item=item)` does. Fields left out take their defaults. This skips
    the per-field work of `Model.__init__`, which costs more than inserting
    the row with `insert_all`. Models that change how they are built, or
    whose construction a signal receiver follows, and projects with database
    routers, go through `model(**values)`.
    """
    construction = _construction(model)
    if construction is None:
        return model(**values)
    defaults, later_defaults, relations, attnames = construction
    instance = sql.bare_instance(model)
    state = instance._state
    data = instance.__dict__
    data.update(defaults)
    for attname, default in later_defaults:
        data[attname] = default()
    for name, value in values.items():
        relation = relations.get(name)
        if relation is not None:
            attname, target_attname = relation
            if value is not None:
                # The database of a new row is that of the rows it refers to, as the
                # foreign key descriptor sets it.
                state.db = state.db or value._state.db or DEFAULT_DB_ALIAS
                value._state.db = value._state.db or state.db
            data[attname] = None if value is None else getattr(value, target_attname)
            state.fields_cache[name] = value
        elif name in attnames:
            data[name] = value
        else:
            raise TypeError(f"{model.__name__} has no field {name!r}; give a field's attname "
                            "or a foreign key's name.")
    return instance


Construction = tuple[dict[str, Any], list[tuple[str, Callable[[], Any]]],
                     dict[str, tuple[str, str]], frozenset[str]]


@cache
def _construction(model: type[models.Model]) -> Construction | None:
    """Return what `new_instance` needs to build rows of `model`: the fixed defaults by
    attname, the defaults called for each row, the foreign keys' attnames by name and
    every attname; None if the model must be built by `Model.__init__`."""
    if router.routers or not sql.plain_construction(model):
        return None
    defaults: dict[str, Any] = {}
    later_defaults: list[tuple[str, Callable[[], Any]]] = []
    relations: dict[str, tuple[str, str]] = {}
    for field in model._meta.concrete_fields:
        if field.has_default() and callable(field.default):
            later_defaults.append((field.attname, field.get_default))
        else:
            defaults[field.attname] = field.get_default()
        if isinstance(field, models.ForeignKey):
            relations[field.name] = (str(field.attname), str(field.target_field.attname))
    attnames = frozenset(field.attname for field in model._meta.concrete_fields)
    return defaults, later_defaults, relations, attnames


@cache
def _values_reader(model: type[models.Model], *,
                   numbered: bool) -> Callable[[models.Model], list[Any]]:
    """Return the function that lists the database values of a row's inserted fields (all
    but the number, for `insert_numbered`)."""
    fields = _numbered_fields(model) if numbered else _insert_fields(model)
    getter = operator.attrgetter(*(field.attname for field in fields))
    adapted = [(index, field, adapt) for index, field in enumerate(fields)
               if (adapt := _adapter(field)) is not None]
    single = len(fields) == 1

    def read(row: models.Model) -> list[Any]:
        values = [getter(row)] if single else list(getter(row))
        for index, field, adapt in adapted:
            values[index] = adapt(row, field, values[index])
        return values
    return read


def _keys_set(rows: Sequence[models.Model], returned: list[tuple[Any, ...]]) -> None:
    """Give the rows the keys of one INSERT, in the order the rows were inserted.

    Keys of one statement increase in insertion order, and neither database
    promises to return them in that order, so they are sorted first.
    """
    alias = sql.database().alias
    for row, pk in zip(rows, sorted(pk for pk, in returned), strict=True):
        row.pk = pk
        row._state.adding = False
        row._state.db = alias


@cache
def _json_insert_sql(model: type[models.Model], vendor: str) -> str:
    """Return the INSERT of rows from a JSON array of value lists, in the array's order."""
    quote = connection.ops.quote_name
    fields = _insert_fields(model)
    columns = ", ".join(quote(str(field.column)) for field in fields)
    key = quote(str(model._meta.pk.column))
    if vendor == "postgresql":
        values = ", ".join(json_element(index, field) for index, field in enumerate(fields))
        return (f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "
                f"SELECT {values} "
                f"FROM json_array_elements(%s::json) WITH ORDINALITY AS source(value, position) "
                f"ORDER BY source.position RETURNING {key}")
    values = ", ".join(f"json_extract(source.value, '$[{index}]')"
                       for index in range(len(fields)))
    return (f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "
            f"SELECT {values} FROM json_each(%s) AS source "
            f"ORDER BY source.key RETURNING {key}")


Adapter = Callable[[models.Model, models.Field, Any], Any]


@cache
def _insert_fields(model: type[models.Model]) -> list[models.Field]:
    """Return the model's inserted fields: all concrete ones but the primary key."""
    return [field for field in model._meta.concrete_fields if not field.primary_key]


@cache
def _adapter(field: models.Field) -> Adapter | None:
    """Return the function that turns an instance's value of `field` into the database
    value, or None where the value is passed as it is."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return _prepared
    if isinstance(field, _PLAIN_FIELDS):
        return None
    ops = connection.ops
    if isinstance(field, models.DecimalField):
        adapt_decimal = ops.adapt_decimalfield_value
        max_digits, decimal_places = field.max_digits, field.decimal_places

        def decimal(row: models.Model, field: models.Field, value: Any) -> Any:
            if value is None or isinstance(value, Decimal):
                return adapt_decimal(value, max_digits, decimal_places)
            return field.get_db_prep_save(value, connection)
        return decimal
    if isinstance(field, models.DateTimeField):
        adapt_datetime = ops.adapt_datetimefield_value
        zone = connection.timezone if connection.vendor == "sqlite" and settings.USE_TZ else None

        def moment(row: models.Model, field: models.Field, value: Any) -> Any:
            if isinstance(value, datetime.datetime) and value.utcoffset() is not None:
                if zone is not None:
                    # What SQLite's adapter does: the time in the connection's zone, as text.
                    return str(value.astimezone(zone).replace(tzinfo=None))
                return adapt_datetime(value)
            return field.get_db_prep_save(value, connection)
        return moment
    return _prepared


def _prepared(row: models.Model, field: models.Field, value: Any) -> Any:
    return field.get_db_prep_save(field.pre_save(row, True), connection)

"""Writing many rows with few, cheap statements, without a model instance per row."""

import datetime
import json
import operator
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from functools import cache
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection, models
from django.db.models import F, Lookup

from backroom.core import sql


def update_values(model: type[models.Model], fields: Sequence[str],
                  values_by_pk: Mapping[Any, tuple[Any, ...]]) -> None:
    """Write `fields` of the rows keyed by primary key, in one statement.

    Each value tuple lists the new values in the order of `fields`. The rows
    travel as one JSON parameter that the UPDATE joins on the primary key, so
    neither Django nor the driver builds anything per row; Django's
    bulk_update builds a CASE expression object per row and field, which
    costs more than the statement.
    """
    if not values_by_pk:
        return
    concrete = _value_fields(model, fields)
    pks = list(values_by_pk)
    columns_values = zip(*values_by_pk.values(), strict=True)
    prepared = [_column_prepare(field, values)
                for field, values in zip(concrete, columns_values, strict=True)]
    rows = [list(row) for row in zip(pks, *prepared, strict=True)]
    if len(rows) == 1:
        # Most calls write one row, which needs no JSON on either side.
        sql.write(_update_one_sql(model, tuple(concrete)), [*rows[0][1:], rows[0][0]])
        return
    vendor = sql.database().vendor
    if vendor == "postgresql":
        _update_from_json(model, concrete, rows, "json_array_elements(%s::json)")
    elif vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 33):
        _update_from_json(model, concrete, rows, "json_each(%s)")
    else:
        _update_case(model, concrete, rows)


def _update_from_json(model: type[models.Model], fields: list[models.Field],
                      rows: list[list[Any]], source: str) -> None:
    statement, with_keys = _update_sql(model, tuple(fields), source, sql.database().vendor)
    params = [json.dumps(rows, default=json_value)]
    if with_keys:
        params.append("{" + ",".join(str(int(row[0])) for row in rows) + "}")
    sql.write(statement, params)


@cache
def _update_one_sql(model: type[models.Model], fields: tuple[models.Field, ...]) -> str:
    """Return the UPDATE of `fields` of the row with one primary key, built once per shape."""
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(str(field.column))} = %s" for field in fields)
    return (f"UPDATE {quote(model._meta.db_table)} SET {assignments} "
            f"WHERE {quote(str(model._meta.pk.column))} = %s")


@cache
def _update_sql(model: type[models.Model], fields: tuple[models.Field, ...], source: str,
                vendor: str) -> tuple[str, bool]:
    """Return the UPDATE of `fields` from the JSON rows in `source`, built once per shape.

    The flag returned with it is True when the statement takes a second
    parameter, the primary keys as an array literal.
    """
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk_column = quote(str(model._meta.pk.column))

    def element(index: int, field: models.Field) -> str:
        if vendor != "postgresql":
            return f"json_extract(source.value, '$[{index}]')"
        return json_element(index, field)

    pk_field = model._meta.pk
    assert isinstance(pk_field, models.Field)
    assignments = ", ".join(f"{quote(str(field.column))} = {element(index, field)}"
                            for index, field in enumerate(fields, start=1))
    statement = (f"UPDATE {table} SET {assignments} FROM {source} AS source "
                 f"WHERE {table}.{pk_column} = {element(0, pk_field)}")
    with_keys = vendor == "postgresql" and isinstance(pk_field, models.IntegerField)
    if with_keys:
        # The keys again, as an array hidden from the planner, so it looks them up in
        # the primary key index. PostgreSQL 15 estimates the JSON rows at 100, and on
        # a table of a few thousand rows, such as the items, it scanned the whole table.
        statement += f" AND {table}.{pk_column} = ANY((SELECT %s::bigint[])::bigint[])"
    return statement, with_keys


def _update_case(model: type[models.Model], fields: list[models.Field],
                 rows: list[list[Any]]) -> None:
    """Update with CASE expressions, one parameter per value, for databases without
    UPDATE ... FROM."""
    quote = connection.ops.quote_name
    pk_column = quote(str(model._meta.pk.column))
    for start in range(0, len(rows), ID_BATCH):
        batch = rows[start:start + ID_BATCH]
        assignments = []
        params: list[Any] = []
        for index, field in enumerate(fields, start=1):
            cases = []
            for row in batch:
                cases.append(f"WHEN {pk_column} = %s THEN %s")
                params.extend([row[0], row[index]])
            column = quote(str(field.column))
            assignments.append(f"{column} = (CASE {' '.join(cases)} ELSE {column} END)")
        params.extend(row[0] for row in batch)
        placeholders = ", ".join(["%s"] * len(batch))
        sql.execute(f"UPDATE {quote(model._meta.db_table)} SET {', '.join(assignments)} "
                    f"WHERE {pk_column} IN ({placeholders})", params)


# Ids per statement where each id is bound as a parameter of its own.
ID_BATCH = 500


class IdsIn(Lookup):
    """Lookup "column is one of these integer ids", bound as one parameter where possible.

    Django binds `pk__in=[...]` as one parameter per id, and Django and
    psycopg then prepare and parse each of them in Python. PostgreSQL gets
    one array and SQLite one JSON text instead. Other databases get one
    parameter per id.
    """

    lookup_name = "ids_in"
    prepare_rhs = False
    ONE_PARAMETER_VENDORS = ("postgresql", "sqlite")

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, params = self.process_lhs(compiler, connection)
        ids = [int(value) for value in self.rhs]
        if connection.vendor == "postgresql":
            # An array literal as text: psycopg would dump a list element by element.
            literal = "{" + ",".join(map(str, ids)) + "}"
            # The scalar subquery hides the ids from the planner, which then plans
            # index scans. Counting a thousand literal ids, PostgreSQL 15 chose
            # sequential scans of the orders and lines at a million lines.
            return f"{lhs} = ANY((SELECT %s::bigint[])::bigint[])", (*params, literal)
        if connection.vendor == "sqlite":
            return f"{lhs} IN (SELECT value FROM json_each(%s))", (*params, json.dumps(ids))
        if not ids:
            raise EmptyResultSet
        return f"{lhs} IN ({', '.join(['%s'] * len(ids))})", (*params, *ids)


def ids_in(field: str, ids: Iterable[int]) -> IdsIn:
    """Return the filter "`field` is one of `ids`" for `filter()` or `Q()`."""
    return IdsIn(F(field), list(ids))


def update_rows(model: type[models.Model], rows: Sequence[models.Model],
                fields: Sequence[str]) -> None:
    """Save `fields` of `rows` (model instances) in one statement; see `update_values`."""
    values = _values_getter(model, tuple(fields))
    if len(fields) == 1:
        update_values(model, fields, {row.pk: (values(row),) for row in rows
                                      if row.pk is not None})
        return
    update_values(model, fields, {row.pk: values(row) for row in rows if row.pk is not None})


# Parameters per INSERT statement: SQLite (3.32 and later) takes at most 32,766.
INSERT_MAX_PARAMETERS = 30_000


def insert_rows(model: type[models.Model], fields: Sequence[str],
                rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert plain tuples as rows of `model`, without a model instance per row.

    Each tuple lists the values in the order of `fields` (names or attnames
    such as `order_id`). Values are prepared as the fields' `get_db_prep_save`
    prepares them. Model field defaults do not apply: every column left out
    needs a database default or must accept NULL. JSON fields are not supported.
    Django's bulk_create builds a model instance per row and its parameters
    field by field, which costs far more than the statement.
    """
    concrete = _value_fields(model, fields)
    rows = list(rows)
    if not rows:
        return
    # Each row must have one value per field: zip(strict=True) raises ValueError if not.
    columns_values = zip(*rows, strict=True)
    prepared_columns = [_column_prepare(field, values)
                        for field, values in zip(concrete, columns_values, strict=True)]
    prepared_rows = list(zip(*prepared_columns, strict=True))
    if sql.database().vendor == "postgresql":
        _insert_from_json(model, concrete, prepared_rows)
    else:
        _insert_values(model, concrete, prepared_rows)


def _insert_values(model: type[models.Model], fields: list[models.Field],
                   rows: list[tuple[Any, ...]]) -> None:
    """Insert with multi-row VALUES lists, one parameter per value."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in fields)
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    batch_size = max(INSERT_MAX_PARAMETERS // len(fields), 1)
    for start in range(0, len(rows), batch_size):
        batch = rows[start:start + batch_size]
        params: list[Any] = [value for row in batch for value in row]
        sql.execute(f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES "
                    + ", ".join([row_sql] * len(batch)), params)


def _insert_from_json(model: type[models.Model], fields: list[models.Field],
                      rows: list[tuple[Any, ...]]) -> None:
    """Insert on PostgreSQL from one parameter: a JSON array of the rows.

    psycopg parses every placeholder of a statement and renders every list
    element in Python, which costs more than the INSERT for a thousand rows.
    """
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in fields)
    values = ", ".join(json_element(index, field) for index, field in enumerate(fields))
    sql.write(f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "
              f"SELECT {values} FROM json_array_elements(%s::json) AS source",
              [json.dumps(rows, default=json_value)])


def json_element(index: int, field: models.Field) -> str:
    """Return the PostgreSQL expression for element `index` of the JSON array `source.value`,
    as the column type of `field`.

    Text columns take the JSON text as it is, so a value that is too long still
    fails as it would in VALUES. Other columns cast it to their type.
    """
    value = f"(source.value ->> {index})"
    if isinstance(field, models.CharField | models.TextField):
        return value
    return f"{value}::{field.db_type(connection)}"


def json_value(value: Any) -> str:
    """Return the text PostgreSQL reads for a value that JSON has no type for."""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} value {value!r} cannot be inserted from JSON")


def _column_prepare(field: models.Field, values: Sequence[Any]) -> list[Any]:
    """Prepare one column's values as `field.get_db_prep_save` does, each distinct value once.

    A column often repeats one value (the receipt, the time), and preparing a
    datetime for SQLite costs several microseconds. Values of the type the
    field stores as it is (an int for an integer or foreign key, a str for
    text) are kept without a call.
    """
    plain = _plain_type(field)
    db = sql.database()
    done: dict[tuple[type, Any], Any] = {}
    prepared = []
    for value in values:
        if type(value) is plain:
            prepared.append(value)
            continue
        try:
            key = (type(value), value)
            if key not in done:
                done[key] = field.get_db_prep_save(value, db)
            prepared.append(done[key])
        except TypeError:
            # An unhashable value, such as a list for an array field.
            prepared.append(field.get_db_prep_save(value, db))
    return prepared


@cache
def _plain_type(field: models.Field) -> type | None:
    """Return the Python type whose values `field` writes unchanged, if there is one."""
    if isinstance(field, models.ForeignKey):
        field = field.target_field
    if isinstance(field, models.BooleanField):
        return bool
    if isinstance(field, models.IntegerField):
        return int
    if isinstance(field, models.CharField | models.TextField):
        return str
    return None


def _value_fields(model: type[models.Model], fields: Sequence[str]) -> list[models.Field]:
    """Return the concrete fields named in `fields`; JSON fields are not supported."""
    return list(_named_fields(model, tuple(fields)))


@cache
def _named_fields(model: type[models.Model], fields: tuple[str, ...]
                  ) -> tuple[models.Field, ...]:
    concrete = []
    for name in fields:
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field), f"{name} is not a concrete field"
        assert not isinstance(field, models.JSONField), f"{name} is a JSON field"
        concrete.append(field)
    return tuple(concrete)


@cache
def _values_getter(model: type[models.Model], fields: tuple[str, ...]) -> Callable[[Any], Any]:
    """Return the function that reads `fields` of an instance: one value for one field, else
    a tuple."""
    columns = []
    for name in fields:
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field), f"{name} is not a concrete field"
        columns.append(field.attname)
    return operator.attrgetter(*columns)

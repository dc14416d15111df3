"""Statements written once and run many times, for the engine's busiest reads.

Django builds and compiles every queryset anew on each call: for a service
that reads a few rows by key, that costs several times what the database
takes to run the statement. The helpers here take the statement as SQL text,
build the text once per shape and run it through Django's connection, so it
shares the service's transaction and raises Django's database errors. Rows
come back as model instances or tuples with the same Python values the ORM
gives: the column values go through the fields' and the backend's converters
(on SQLite, decimals arrive as floats and booleans as integers).

Statements use `%s` placeholders and double-quoted names, which both
SQLite and PostgreSQL accept.

Statements go to the database driver's own cursor, not through Django's
cursor wrapper, which on SQLite rewrites the placeholders of every
statement with a regular expression and wraps every call and fetch. Two
of its checks stay: a transaction that must roll back runs no statement,
and driver errors are raised as Django's. While Django records the
statements (a debug cursor counting queries, an execute wrapper), they go
through Django's cursor so that they are recorded.
"""

import datetime
import decimal
import json
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache, lru_cache, partial
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils.dateparse import parse_datetime

ModelT = TypeVar("ModelT", bound=models.Model)
ResultT = TypeVar("ResultT")
ChildT = TypeVar("ChildT", bound=models.Model)

# (column index, function) for each column whose values are converted.
Converters = tuple[tuple[int, Callable[[Any], Any]], ...]


class _ThreadConnection(threading.local):
    """The default database's connection wrapper of this thread, once looked up."""

    wrapper: Any = None


_thread_connection = _ThreadConnection()


def database() -> BaseDatabaseWrapper:
    """Return the default database's connection wrapper of this thread, the object that
    `django.db.connection` forwards to.

    Each attribute read through `django.db.connection` looks the wrapper up in
    asgiref's Local (1.7 microseconds each in a timeit run on a 2-core AMD EPYC),
    and the engine's helpers read a few hundred attributes per back-order flow.
    Django keeps one wrapper per thread and replaces it only where code assigns
    `connections[alias]`, as its test servers do when their thread starts,
    before they serve a request.
    """
    wrapper = _thread_connection.wrapper
    if wrapper is None:
        wrapper = _thread_connection.wrapper = connections[DEFAULT_DB_ALIAS]
    return wrapper


def model_rows(model: type[ModelT], where: str, params: Sequence[Any], *,
               order_by: str = '"id"', lock: bool = False) -> list[ModelT]:
    """Return the rows of `model` matching `where` (SQL on its table) as instances.

    With `lock`, the rows are locked for the rest of the transaction on
    databases that lock rows (SQLite's transactions already hold the whole
    database).
    """
    db = database()
    sql = _select_sql(model, where, order_by, lock and db.features.has_select_for_update,
                      db.vendor)
    attnames, converters = _model_converters(model, db.vendor)
    build = _builder(model)
    alias = db.alias
    return [build(alias, attnames, _convert(row, converters)) for row in fetch_all(sql, params)]


def model_rows_with_children(
        model: type[ModelT], child: type[ChildT], link: str, where: str,
        params: Sequence[Any], *, child_on: str = "", child_order_by: str = "",
        lock: bool = False) -> list[tuple[ModelT, list[ChildT]]]:
    """Return the rows of `model` matching `where`, each with its rows of `child`, read
    with one statement.

    `link` is the column of `child` that refers to `model`'s key. `where`,
    `child_on` and `child_order_by` name their columns with the table
    (`"sales_order"."number"`). `child_on` keeps only the child rows it matches,
    and children come in `child_order_by` order, else by key. `params` are those of
    `child_on`, then those of `where`. With `lock`, the rows of `model` are locked,
    not those of `child`.
    """
    db = database()
    sql = _join_sql(model, child, link, where, child_on, child_order_by,
                    lock and db.features.has_select_for_update, db.vendor)
    attnames, converters = _model_converters(model, db.vendor)
    child_attnames, child_converters = _model_converters(child, db.vendor)
    build, build_child = _builder(model), _builder(child)
    width = len(attnames)
    alias = db.alias
    found: dict[Any, tuple[ModelT, list[ChildT]]] = {}
    for row in fetch_all(sql, params):
        key = row[0]
        if key not in found:
            found[key] = (build(alias, attnames, _convert(row[:width], converters)), [])
        if row[width] is not None:
            found[key][1].append(build_child(alias, child_attnames,
                                             _convert(row[width:], child_converters)))
    return list(found.values())


def value_rows(sql: str, params: Sequence[Any],
               fields: Sequence[models.Field | None] = ()) -> list[tuple[Any, ...]]:
    """Run `sql` and return its rows, each column converted as the ORM converts the
    matching field's values. Columns without a field in `fields`, or with None, stay
    as the driver returns them: integers and text need no conversion."""
    converters = _field_converters(tuple(fields), database().vendor)
    rows = fetch_all(sql, params)
    if not converters:
        return rows
    return [_convert(row, converters) for row in rows]


def execute(sql: str, params: Sequence[Any]) -> int:
    """Run a statement that returns no rows; return the number of rows it changed."""
    return _run(sql, params, lambda cursor: int(cursor.rowcount))


def fetch_all(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run a statement that returns rows (a SELECT, or a write with RETURNING) and
    return them as the driver gives them."""
    return _run(sql, params, lambda cursor: cursor.fetchall())


def _run(sql: str, params: Sequence[Any], result: Callable[[Any], ResultT]) -> ResultT:
    """Run `sql` and return `result` of its cursor, on the driver's cursor unless Django
    records statements."""
    if _pending.writes:
        _writes_send()
    db = database()
    wrappers = db.execute_wrappers
    # The wrapper of `writes_together` alone does not need Django's cursor.
    if db.queries_logged or (wrappers and (len(wrappers) > 1
                                           or wrappers[0] is not _writes_send_first)):
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return result(cursor)
    # The checks of Django's cursor: a transaction that must roll back runs nothing,
    # and a closed connection opens again.
    db.validate_no_broken_transaction()
    if db.connection is None:
        db.ensure_connection()
    with db.wrap_database_errors:
        if db.vendor == "sqlite":
            return result(db.connection.execute(_qmark(sql), params))
        with db.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return result(cursor)


# A held write: its quoted table, its statement and the statement's parameters.
Write = tuple[str, str, Sequence[Any]]


class _PendingWrites(threading.local):
    """The writes held back by `writes_together` in this thread, or None outside it."""

    writes: list[Write] | None = None


_pending = _PendingWrites()


@contextmanager
def writes_together() -> Iterator[None]:
    """Send the writes given to `write` in the block as one statement, on PostgreSQL.

    Each write becomes a data-modifying WITH clause of the next, which saves a
    round trip to the server per write. The writes of one statement all see
    the rows as they were before it, so each must be a blind INSERT or UPDATE
    (values given, rows chosen by key), and two writes to one table go in
    separate statements. Any other statement, ORM queries included, sends the
    held writes first, so its results include them. Inside a transaction, the
    backend sends them in the same message as that statement, or with the
    COMMIT. On an exception the held writes are dropped, as the transaction
    rolls back. Elsewhere than on PostgreSQL the writes run when they are
    given.
    """
    if _pending.writes is not None or database().vendor != "postgresql":
        yield
        return
    _pending.writes = []
    try:
        with connection.execute_wrapper(_writes_send_first):
            yield
    except BaseException:
        _pending.writes = None
        raise
    try:
        _writes_send()
    finally:
        _pending.writes = None


def _writes_send_first(execute: Callable[..., Any], sql: str, params: Any, many: bool,
                       context: dict[str, Any]) -> Any:
    """Send the held writes before a statement that goes through Django's cursor."""
    if _pending.writes:
        _writes_send()
    return execute(sql, params, many, context)


def write(sql: str, params: Sequence[Any]) -> None:
    """Run a blind INSERT or UPDATE, or hold it back inside `writes_together`."""
    writes = _pending.writes
    if writes is None:
        execute(sql, params)
        return
    table = _written_table(sql)
    if table is None:
        execute(sql, params)
        return
    if any(written == table for written, _, _ in writes):
        _writes_send()
    writes.append((table, sql, params))


def write_returning(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run a blind INSERT or UPDATE with RETURNING and return its rows. Inside
    `writes_together`, the writes held back go in the same statement."""
    writes = _pending.writes
    table = _written_table(sql)
    if not writes or table is None or any(written == table for written, _, _ in writes):
        return fetch_all(sql, params)
    text, earlier_params = _with_clauses(_taken(writes))
    return fetch_all(f"{text} {sql}", [*earlier_params, *params])


def _with_clauses(writes: list[Write]) -> tuple[str, list[Any]]:
    """Return the WITH clause of these writes and its parameters."""
    clauses = [f'"write_{index}" AS ({statement})'
               for index, (_, statement, _) in enumerate(writes)]
    return "WITH " + ", ".join(clauses), [value for _, _, each in writes for value in each]


def _writes_send() -> None:
    """Send the held writes as one statement and empty the list."""
    writes = _pending.writes
    if not writes:
        return
    *earlier, (_, text, params) = _taken(writes)
    params = list(params)
    if earlier:
        clauses, earlier_params = _with_clauses(earlier)
        text, params = f"{clauses} {text}", [*earlier_params, *params]
    db = database()
    # Statements that Django records go one by one, so that the record lists them.
    hold = getattr(db, "writes_hold", None)
    if hold is not None and not db.queries_logged and hold(text, params):
        return
    execute(text, params)


def _taken(writes: list[Write]) -> list[Write]:
    """Return the held writes and empty the list, which the block keeps using."""
    taken = list(writes)
    writes.clear()
    return taken


@lru_cache(maxsize=256)
def _written_table(sql: str) -> str | None:
    """Return the quoted table of an INSERT or UPDATE statement, or None for others."""
    matched = _WRITE_TARGET.match(sql)
    return matched.group(1) if matched else None


_WRITE_TARGET = re.compile(r'\s*(?:UPDATE|INSERT INTO)\s+("[^"]+")')


@lru_cache(maxsize=2048)
def _qmark(sql: str) -> str:
    """Return `sql` with SQLite's placeholders, as Django's SQLite cursor rewrites it."""
    return _FORMAT_PLACEHOLDER.sub("?", sql).replace("%%", "%")


# A `%s` not preceded by another `%`, as Django's SQLite backend matches it.
_FORMAT_PLACEHOLDER = re.compile(r"(?<!%)%s")


def ids_in(column: str) -> str:
    """Return the condition "`column` is one of the ids" for one `ids_value` parameter.

    The ids travel as one parameter, so the statement text does not change
    with their number and neither Django nor the driver handles them one by
    one.
    """
    if database().vendor == "postgresql":
        return f"{column} = ANY((SELECT %s::bigint[])::bigint[])"
    return f"{column} IN (SELECT value FROM json_each(%s))"


def ids_select() -> str:
    """Return a SELECT of one row per id of one `ids_value` parameter, for `IN (...)` or
    `UNION`."""
    if connection.vendor == "postgresql":
        return "SELECT unnest(%s::bigint[])"
    return "SELECT value FROM json_each(%s)"


def ids_value(ids: Iterable[int]) -> str:
    """Return the parameter of an `ids_in` condition.

    An id beyond the range of the id columns matches no row, as with the ORM,
    so it is left out: PostgreSQL would reject the whole array.
    """
    vendor = database().vendor
    low, high = _id_range(vendor)
    in_range = [pk for pk in map(int, ids) if low <= pk <= high]
    if vendor == "postgresql":
        return "{" + ",".join(map(str, in_range)) + "}"
    return json.dumps(in_range)


def id_fits(value: int) -> bool:
    """Return whether `value` fits the id columns.

    The ORM matches no row for an id out of range, where the database driver
    raises an error, so statements given such an id must skip it.
    """
    low, high = _id_range(database().vendor)
    return low <= value <= high


@cache
def _id_range(vendor: str) -> tuple[int, int]:
    return connection.ops.integer_field_range("BigAutoField")


def field(model: type[models.Model], name: str) -> models.Field:
    """Return the concrete field `name` of `model`, for `value_rows`."""
    found = model._meta.get_field(name)
    assert isinstance(found, models.Field), f"{name} is not a concrete field"
    return found


def plain_construction(model: type[models.Model]) -> bool:
    """Return whether instances of `model` may be built without `Model.__init__`: the
    model keeps Django's own constructor and no signal receiver follows it."""
    return (model.__init__ is models.Model.__init__
            and not signals.pre_init.has_listeners(model)
            and not signals.post_init.has_listeners(model))


def bare_instance(model: type[ModelT]) -> ModelT:
    """Return an instance of `model` with a fresh state and no field set yet."""
    instance = model.__new__(model)
    instance._state = ModelState()
    return instance


@cache
def _plain_model(model: type[models.Model]) -> bool:
    """Return whether rows of `model` can become instances without `Model.from_db`."""
    return (model.from_db.__func__ is models.Model.from_db.__func__  # type: ignore[attr-defined]
            and plain_construction(model))


def _builder(model: type[ModelT]) -> Callable[[str, list[str], tuple[Any, ...]], ModelT]:
    """Return the function that builds an instance of `model` from a row's values."""
    if _plain_model(model):
        return partial(_instance, model)
    return model.from_db


def _instance(model: type[ModelT], alias: str, attnames: list[str],
              values: tuple[Any, ...]) -> ModelT:
    """Build an instance of a row, as `Model.from_db` does with every field loaded."""
    instance = bare_instance(model)
    instance.__dict__.update(zip(attnames, values, strict=True))
    instance._state.adding = False
    instance._state.db = alias
    return instance


def _convert(row: tuple[Any, ...], converters: Converters) -> tuple[Any, ...]:
    if not converters:
        return row
    values = list(row)
    for index, convert in converters:
        values[index] = convert(values[index])
    return tuple(values)


@cache
def _select_sql(model: type[models.Model], where: str, order_by: str, lock: bool,
                vendor: str) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in model._meta.concrete_fields)
    sql = f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {where}"
    if order_by:
        sql += f" ORDER BY {order_by}"
    return sql + (" FOR UPDATE" if lock else "")


@cache
def _join_sql(model: type[models.Model], child: type[models.Model], link: str, where: str,
              child_on: str, child_order_by: str, lock: bool, vendor: str) -> str:
    # Each row's first column of each table is its key: a missing child leaves it NULL.
    assert model._meta.concrete_fields[0] is model._meta.pk
    assert child._meta.concrete_fields[0] is child._meta.pk
    quote = connection.ops.quote_name
    table, child_table = quote(model._meta.db_table), quote(child._meta.db_table)
    columns = ", ".join(f"{table}.{quote(str(field.column))}"
                        for field in model._meta.concrete_fields)
    child_columns = ", ".join(f"{child_table}.{quote(str(field.column))}"
                              for field in child._meta.concrete_fields)
    key = quote(str(model._meta.pk.column))
    sql = (f"SELECT {columns}, {child_columns} FROM {table} LEFT OUTER JOIN {child_table} "
           f"ON {child_table}.{quote(link)} = {table}.{key}")
    if child_on:
        sql += f" AND {child_on}"
    child_key = f"{child_table}.{quote(str(child._meta.pk.column))}"
    sql += f" WHERE {where} ORDER BY {table}.{key}, {child_order_by or child_key}"
    return sql + (f" FOR UPDATE OF {table}" if lock else "")


@cache
def _model_converters(model: type[models.Model], vendor: str) -> tuple[list[str], Converters]:
    fields = tuple(model._meta.concrete_fields)
    return [field.attname for field in fields], _field_converters(fields, vendor)


@cache
def _field_converters(fields: tuple[models.Field | None, ...], vendor: str) -> Converters:
    """Return (column index, function) for each column that Django's compiler converts,
    where the function returns the value that the compiler's converters return."""
    converters: list[tuple[int, Callable[[Any], Any]]] = []
    for index, column in enumerate(fields):
        if column is None:
            continue
        expression = column.get_col(column.model._meta.db_table)
        functions = (connection.ops.get_db_converters(expression)
                     + expression.get_db_converters(connection))
        if functions:
            converters.append((index, _sqlite_converter(column, functions, vendor)
                               or _chained_converter(functions, expression)))
    return tuple(converters)


def _chained_converter(functions: list[Any], expression: Any) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        for function in functions:
            value = function(value, expression, connection)
        return value
    return convert


# Converted values kept per decimal column on SQLite.
DECIMALS_KEPT = 4096


def _sqlite_converter(column: models.Field, functions: list[Any],
                      vendor: str) -> Callable[[Any], Any] | None:
    """Return a function equal to SQLite's one converter of a decimal, time or boolean
    column, with what it looks up on each call looked up once; None for other columns."""
    if vendor != "sqlite" or len(functions) != 1:
        return None
    kind = column.get_internal_type()
    if kind == "DecimalField":
        assert isinstance(column, models.DecimalField)
        # As Django's SQLite backend: 15 significant digits, then the field's places.
        create_decimal = decimal.Context(prec=15).create_decimal_from_float
        places = decimal.Decimal(1).scaleb(-column.decimal_places)
        context = column.context
        # Prices, costs and totals repeat: each stored value is converted once. Decimals
        # are immutable, so rows may share them.
        converted: dict[Any, decimal.Decimal] = {}

        def to_decimal(value: Any) -> Any:
            if value is None:
                return None
            if value == 0 and math.copysign(1.0, value) < 0:
                # -0.0 is a key equal to 0, but Django converts it to Decimal("-0.00").
                return create_decimal(value).quantize(places, context=context)
            found = converted.get(value)
            if found is None:
                found = create_decimal(value).quantize(places, context=context)
                if len(converted) < DECIMALS_KEPT:
                    converted[value] = found
            return found
        return to_decimal
    if kind == "DateTimeField":
        zone = connection.timezone if settings.USE_TZ else None

        def to_datetime(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, datetime.datetime):
                value = parse_datetime(value)
            if zone is not None and value.utcoffset() is None:
                value = value.replace(tzinfo=zone)
            return value
        return to_datetime
    if kind == "BooleanField":
        return _to_boolean
    return None


def _to_boolean(value: Any) -> Any:
    return bool(value) if value in (1, 0) else value


def texts_in(column: str) -> str:
    """Return the condition "`column` is one of the texts" for one `texts_value` parameter.

    The texts travel as one JSON array, so the statement text does not change
    with their number, as with `ids_in`.
    """
    if database().vendor == "postgresql":
        # The texts go into an array that the planner cannot see into, so it uses the
        # column's index. PostgreSQL 15 estimates a set-returning function at 100 rows,
        # and for "IN (SELECT json_array_elements_text(...))" it read every item of a
        # catalog of a few thousand.
        return f"{column} = ANY(ARRAY(SELECT json_array_elements_text(%s::json)))"
    return f"{column} IN (SELECT value FROM json_each(%s))"


def texts_value(texts: Iterable[str]) -> str:
    """Return the parameter of a `texts_in` condition.

    A text with a NUL character matches no row on SQLite, but PostgreSQL
    raises DataError for it, as it does for the ORM's `__in` lookup.
    """
    return json.dumps(list(texts))

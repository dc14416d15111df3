"""Writing the same fields of many rows with few, cheap UPDATE statements."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def update_grouped(model: type[models.Model], rows: Sequence[models.Model],
                   fields: Sequence[str]) -> None:
    """Save `fields` of `rows`, one `UPDATE ... WHERE id IN (...)` per distinct set of values.

    Django's bulk_update builds a CASE expression with one branch per row and
    field, and building it costs milliseconds per row. Rows that share their
    new values (units served one each, the same status) need one UPDATE.
    """
    columns = []
    for name in fields:
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field), f"{name} is not a concrete field"
        columns.append(field.attname)
    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for row in rows:
        groups[tuple(getattr(row, column) for column in columns)].append(row.pk)
    for values, ids in groups.items():
        for start in range(0, len(ids), 500):
            model._default_manager.filter(pk__in=ids[start:start + 500]).update(
                **dict(zip(columns, values, strict=True)))


def update_rows(model: type[models.Model], rows: Sequence[models.Model],
                fields: Sequence[str]) -> None:
    """Save `fields` of `rows` with one UPDATE of CASE expressions built as plain SQL.

    It writes what Django's bulk_update writes, without building an
    expression object per row and field, which costs far more than the
    statement itself for the 10 to 1,000 rows a service changes.
    """
    rows = list({row.pk: row for row in rows if row.pk is not None}.values())
    if not rows:
        return
    if len(rows) == 1:
        row = rows[0]
        model._default_manager.filter(pk=row.pk).update(
            **{name: getattr(row, name) for name in fields})
        return
    quote = connection.ops.quote_name
    meta = model._meta
    pk_column = quote(str(meta.pk.column))
    for start in range(0, len(rows), 500):
        batch = rows[start:start + 500]
        assignments = []
        params: list[Any] = []
        for name in fields:
            field = meta.get_field(name)
            assert isinstance(field, models.Field), f"{name} is not a concrete field"
            cases = []
            for row in batch:
                cases.append(f"WHEN {pk_column} = %s THEN %s")
                params.extend([row.pk, field.get_db_prep_save(getattr(row, field.attname),
                                                              connection)])
            column = quote(str(field.column))
            cast = "" if connection.vendor != "postgresql" else f"::{field.db_type(connection)}"
            assignments.append(f"{column} = (CASE {' '.join(cases)} ELSE {column} END){cast}")
        params.extend(row.pk for row in batch)
        placeholders = ", ".join(["%s"] * len(batch))
        sql = (f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "
               f"WHERE {pk_column} IN ({placeholders})")
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

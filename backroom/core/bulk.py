"""Writing the same fields of many rows with few, cheap UPDATE statements."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import models


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

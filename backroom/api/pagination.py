"""Keyset pagination with opaque cursors: `?limit=` and `?cursor=`.

A cursor contains the sort key of the last row sent, so a page costs the same
at any depth and rows added meanwhile never shift the pages.
"""

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet

from backroom.core.errors import ValidationFailed, shown

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit {limit} is out of range; give 1 to {MAX_LIMIT}.",
                               field="query.limit")
    return limit


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(list(values), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        values = None
    if not isinstance(values, list) or len(values) != size or not all(
            isinstance(value, int | str) and not isinstance(value, bool) for value in values):
        raise ValidationFailed(
            f"cursor '{shown(cursor)}' is invalid; pass the next_cursor of a previous page.",
            field="query.cursor")
    return values


def paginate(queryset: QuerySet, *, keys: Sequence[tuple[str, bool]], limit: int | None,
             cursor: str | None, render: Callable[[list[Any]], list[Any]]) -> dict[str, Any]:
    """Return one page of `queryset` ordered by `keys`, as {items, next_cursor}.

    `keys` are (field, descending) pairs, the last one unique (the id).
    `render` turns the page's rows into the items sent.
    """
    size = check_limit(limit)
    ordering = [f"-{name}" if descending else name for name, descending in keys]
    queryset = queryset.order_by(*ordering)
    try:
        if cursor:
            queryset = queryset.filter(_after(keys, decode_cursor(cursor, len(keys))))
        rows = list(queryset[: size + 1])
    except (ValueError, TypeError, DjangoValidationError):
        raise ValidationFailed(
            f"cursor '{shown(cursor)}' is invalid; pass the next_cursor of a previous page.",
            field="query.cursor") from None
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = encode_cursor([_value(last, name) for name, _ in keys])
    return {"items": render(rows), "next_cursor": next_cursor}


def _value(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, dict) else getattr(row, name)


def _after(keys: Sequence[tuple[str, bool]], values: list[Any]) -> Q:
    """Rows strictly after `values` in the order of `keys`."""
    condition = Q()
    equal = Q()
    for (name, descending), value in zip(keys, values, strict=True):
        step = Q(**{f"{name}__lt" if descending else f"{name}__gt": value})
        condition |= equal & step
        equal &= Q(**{name: value})
    return condition


def paginate_segments(segments: Sequence[QuerySet], *, limit: int | None, cursor: str | None,
                      render: Callable[[list[Any]], list[Any]]) -> dict[str, Any]:
    """Return one page over querysets read one after the other, each newest first.

    "Back-ordered first" lists are two segments. Reading each by descending
    id walks the primary-key index, where sorting on a computed rank would
    sort every matching row before sending fifty. The cursor holds the
    segment and the last id sent.

    NOTE: a row that moves to another segment while a client pages (a line
    received meanwhile) can be listed twice or not at all.
    """
    size = check_limit(limit)
    start, last_id = 0, None
    if cursor:
        start, last_id = decode_cursor(cursor, 2)
        if not (isinstance(start, int) and 0 <= start < len(segments)
                and isinstance(last_id, int)):
            raise ValidationFailed(
                f"cursor '{shown(cursor)}' is invalid; pass the next_cursor of a previous "
                "page.",
                field="query.cursor")
    rows: list[tuple[int, Any]] = []
    for index in range(start, len(segments)):
        query = segments[index].order_by("-id")
        if index == start and last_id is not None:
            query = query.filter(id__lt=last_id)
        rows.extend((index, row) for row in query[: size + 1 - len(rows)])
        if len(rows) > size:
            break
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        index, row = rows[-1]
        next_cursor = encode_cursor([index, row.pk])
    return {"items": render([row for _, row in rows]), "next_cursor": next_cursor}

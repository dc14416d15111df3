"""Keyset pagination with opaque cursors: `?limit=` and `?cursor=`.

A cursor holds the sort key of the last row sent, so a page costs the same
at any depth and rows added meanwhile never shift the pages.
"""

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import Q, QuerySet

from backroom.core.errors import ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit {limit} is out of range; give 1 to {MAX_LIMIT}.",
                               field="limit")
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
    if not isinstance(values, list) or len(values) != size:
        raise ValidationFailed(
            f"cursor '{cursor}' is invalid; pass the next_cursor of a previous page.",
            field="cursor")
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
    if cursor:
        queryset = queryset.filter(_after(keys, decode_cursor(cursor, len(keys))))
    rows = list(queryset[: size + 1])
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

"""Audit trail: events collected during a service and written in one insert."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from backroom.core.models import Event


class AuditLog:
    """Collects the events of one service call; `flush` writes them together."""

    def __init__(self, user: AbstractBaseUser | AnonymousUser | None) -> None:
        self.user: Any = user if user is not None and user.is_authenticated else None
        self.events: list[Event] = []

    def add(self, action: str, *, order: Any = None, item: Any = None,
            purchase_order: Any = None, **detail: Any) -> None:
        """Record an action; `order`, `item` and `purchase_order` take a row or its id."""
        self.events.append(Event(
            user=self.user, action=action, detail=_jsonable(detail),
            order_id=_pk(order), item_id=_pk(item), purchase_order_id=_pk(purchase_order),
        ))

    def flush(self) -> None:
        if self.events:
            Event.objects.bulk_create(self.events)
            self.events = []


def _pk(row: Any) -> int | None:
    if row is None or isinstance(row, int):
        return row
    return int(row.pk)


def _jsonable(value: Any) -> Any:
    """Turn Decimals into strings so the audit log never holds a float."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value

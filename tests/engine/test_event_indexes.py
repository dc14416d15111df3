"""The audit history of an order, an item or a purchase order is read along its index.

The indexes leave out the events that name no order, item or purchase order.
A query that gives the key still uses its index on both databases.
"""

import pytest
from django.db import connection

from backroom.core.models import Event


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # On a nearly empty table PostgreSQL would read the table itself.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return " | ".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.parametrize(("history", "index"), [
    (lambda: Event.objects.filter(order=7).order_by("id"), "event_order_idx"),
    (lambda: Event.objects.filter(item=7).order_by("-id")[:30], "event_item_idx"),
    (lambda: Event.objects.filter(purchase_order=7).order_by("id"),
     "event_purchase_order_idx"),
])
def test_history_uses_partial_index(db, history, index):
    assert index in _plan(history())


def test_index_skips_events_without_key(db):
    """Only the events that name a purchase order are in its index."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_indexdef('event_purchase_order_idx'::regclass)")
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'event_purchase_order_idx'")
        definition = cursor.fetchone()[0]

    assert "purchase_order_id" in definition
    assert "IS NOT NULL" in definition.upper()

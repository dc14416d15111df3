"""Writes held back by writes_together: one statement on PostgreSQL, the same rows as
writing them one by one."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from backroom.catalog.models import Item
from backroom.core.audit import AuditLog
from backroom.core.bulk import update_values
from backroom.core.inserts import insert_all, new_instance
from backroom.core.models import Event
from backroom.core.sql import value_rows, writes_together
from backroom.sales.models import Order, OrderLine


def _write_three(card, scarf, order) -> None:
    update_values(Item, ["on_hand"], {card.pk: (7,)})
    update_values(Order, ["note"], {order.pk: ("held back",)})
    audit = AuditLog(None)
    audit.add("note_changed", order=order)
    audit.flush()


def test_block_writes_rows_as_given(card, scarf, waiting_order):
    with transaction.atomic(), writes_together():
        _write_three(card, scarf, waiting_order)

    assert Item.objects.get(pk=card.pk).on_hand == 7
    assert Order.objects.get(pk=waiting_order.pk).note == "held back"
    assert Event.objects.filter(order=waiting_order, action="note_changed").count() == 1


def test_block_sends_one_statement_on_postgresql(card, scarf, waiting_order):
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), writes_together():
        _write_three(card, scarf, waiting_order)

    writes = [query["sql"] for query in queries.captured_queries
              if query["sql"].lstrip().startswith(("UPDATE", "INSERT", "WITH"))]
    expected = 1 if connection.vendor == "postgresql" else 3
    assert len(writes) == expected


def test_two_writes_to_one_table_both_applied(card, scarf):
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), writes_together():
        update_values(Item, ["on_hand"], {card.pk: (3,)})
        update_values(Item, ["reserved"], {card.pk: (2,)})

    card.refresh_from_db()
    assert (card.on_hand, card.reserved) == (3, 2)
    updates = [query for query in queries.captured_queries if "catalog_item" in query["sql"]]
    assert len(updates) == 2


def test_reads_in_block_see_held_writes(card, waiting_order):
    with transaction.atomic(), writes_together():
        update_values(Item, ["on_hand"], {card.pk: (5,)})
        orm_value = Item.objects.get(pk=card.pk).on_hand
        update_values(Item, ["on_hand"], {card.pk: (6,)})
        [(sql_value,)] = value_rows('SELECT "on_hand" FROM "catalog_item" WHERE "id" = %s',
                                    [card.pk])

    assert orm_value == 5
    assert sql_value == 6


def test_insert_returns_keys_with_held_writes(card, waiting_order):
    line = new_instance(OrderLine, order=waiting_order, position=3, item=card,
                        description="extra card", quantity=1, pending=1,
                        unit_price=card.price)
    with transaction.atomic(), writes_together():
        update_values(Item, ["on_hand"], {card.pk: (4,)})
        insert_all(OrderLine, [line])

    assert line.pk is not None
    assert OrderLine.objects.get(pk=line.pk).description == "extra card"
    assert Item.objects.get(pk=card.pk).on_hand == 4


def test_error_in_block_drops_held_writes(card):
    with transaction.atomic():
        with pytest.raises(ValueError), writes_together():
            update_values(Item, ["on_hand"], {card.pk: (1,)})
            raise ValueError("stop")
        # Nothing more was sent: a statement here would have carried the held write.
        assert Item.objects.get(pk=card.pk).on_hand == (
            1 if connection.vendor != "postgresql" else 10)


def test_failed_held_write_raises_at_block_end(card, scarf):
    with pytest.raises(IntegrityError), transaction.atomic(), writes_together():
        update_values(Item, ["sku"], {card.pk: (None,)})
        update_values(Order, ["note"], {})
    assert Item.objects.get(pk=card.pk).sku == card.sku

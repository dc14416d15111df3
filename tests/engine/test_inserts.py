"""Inserting model instances with insert_all, on the real database."""

import datetime
from decimal import Decimal

import pytest
from django.db import DataError, connection, transaction

from backroom.catalog.models import Item
from backroom.core.inserts import insert_all


def test_insert_all_keeps_values_and_sets_keys(vendor):
    moment = datetime.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=datetime.UTC)
    rows = [
        Item(sku="I-1", description="Mug, blue", price=Decimal("12.35"), cost=Decimal("4.10"),
             vendor=vendor, taxable=False, reorder_point=3, created_at=moment),
        Item(sku="I-2", description="Café card №2", price=Decimal("0.00"), vendor=None,
             tracked=False, on_hand=4),
    ]

    insert_all(Item, rows)

    stored = {item.pk: item for item in Item.objects.filter(sku__startswith="I-")}
    assert [row.pk for row in rows] == sorted(stored)
    first, second = stored[rows[0].pk], stored[rows[1].pk]
    assert (first.sku, first.price, first.cost, first.vendor_id) == (
        "I-1", Decimal("12.35"), Decimal("4.10"), vendor.pk)
    assert (first.taxable, first.tracked, first.reorder_point, first.created_at) == (
        False, True, 3, moment)
    assert (second.description, second.vendor_id, second.tracked, second.on_hand) == (
        "Café card №2", None, False, 4)
    assert all(row._state.adding is False for row in rows)


def test_insert_all_writes_every_batch_in_order(vendor):
    rows = [Item(sku=f"B-{number:05d}", description=f"item {number}", price=Decimal("1.00"),
                 vendor=vendor, on_hand=number) for number in range(2500)]

    insert_all(Item, rows)

    stored = dict(Item.objects.filter(sku__startswith="B-").values_list("pk", "on_hand"))
    assert len(stored) == 2500
    assert [stored[row.pk] for row in rows] == list(range(2500))


def test_insert_all_rejects_too_long_text(vendor):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite does not enforce varchar lengths")

    with pytest.raises(DataError), transaction.atomic():
        insert_all(Item, [Item(sku="x" * 41, description="long", price=Decimal("1.00"))])

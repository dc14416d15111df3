"""The set-based writes of backroom.core.bulk, on the real database."""

import datetime
import sqlite3
from decimal import Decimal

import pytest
from django.db import DataError, connection, transaction
from django.db.models import Q

from backroom.catalog.models import Item
from backroom.core.bulk import ids_in, insert_rows, update_values
from backroom.purchasing.models import PurchaseOrder, PurchaseOrderLine, PurchaseRequest

REQUEST_FIELDS = ("item", "vendor", "quantity", "served", "status", "needs_ordering",
                  "created_at", "updated_at")


@pytest.fixture
def many_items(db, vendor):
    Item.objects.bulk_create([
        Item(sku=f"M{number}", description=f"item {number}", price=Decimal("1.00"),
             vendor=vendor) for number in range(1200)])
    return list(Item.objects.filter(sku__startswith="M").order_by("pk"))


def test_insert_rows_keeps_values(card, vendor):
    moment = datetime.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=datetime.UTC)

    insert_rows(PurchaseRequest, REQUEST_FIELDS, [
        (card.pk, vendor.pk, 3, 0, "open", True, moment, moment),
        (card.pk, None, 1, 2, "cancelled", False, moment, moment),
    ])

    rows = list(PurchaseRequest.objects.order_by("pk").values_list(
        "item_id", "vendor_id", "quantity", "served", "status", "needs_ordering", "created_at"))
    assert rows == [(card.pk, vendor.pk, 3, 0, "open", True, moment),
                    (card.pk, None, 1, 2, "cancelled", False, moment)]


def test_insert_rows_keeps_decimals(card, vendor):
    po = PurchaseOrder.objects.create(number="PO-T1", vendor=vendor)

    insert_rows(PurchaseOrderLine, ("purchase_order", "item", "quantity", "received", "cost",
                                    "closed_short", "cancelled"),
                [(po.pk, card.pk, 4, 0, Decimal("12.35"), False, False)])

    line = PurchaseOrderLine.objects.get(purchase_order=po)
    assert (line.quantity, line.cost, line.closed_short) == (4, Decimal("12.35"), False)


def test_insert_rows_writes_every_batch(many_items):
    moment = datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)

    insert_rows(PurchaseRequest, REQUEST_FIELDS, [
        (item.pk, None, 1, 0, "open", False, moment, moment) for item in many_items] * 4)

    assert PurchaseRequest.objects.count() == 4800


def test_insert_rows_rejects_row_of_wrong_length(card):
    with pytest.raises(ValueError):
        insert_rows(PurchaseRequest, REQUEST_FIELDS, [(card.pk, None, 1)])
    assert not PurchaseRequest.objects.exists()


def test_insert_rows_rejects_too_long_text(card):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite does not enforce the length of a varchar column")
    moment = datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)

    with pytest.raises(DataError), transaction.atomic():
        insert_rows(PurchaseRequest, REQUEST_FIELDS,
                    [(card.pk, None, 1, 0, "x" * 21, False, moment, moment)])


def test_ids_in_selects_given_ids(many_items):
    chosen = [item.pk for item in many_items[::3]]

    found = set(Item.objects.filter(ids_in("pk", chosen)).values_list("pk", flat=True))

    assert found == set(chosen)


def test_ids_in_without_ids_selects_nothing(many_items):
    assert not Item.objects.filter(ids_in("pk", [])).exists()
    assert Item.objects.filter(Q(ids_in("pk", [])) | Q(sku="M1")).count() == 1
    assert Item.objects.exclude(ids_in("pk", [])).count() == len(many_items)


def test_update_values_writes_each_row(many_items):
    values = {item.pk: (item.pk % 3, "fixed") for item in many_items[:1100]}

    update_values(Item, ["on_hand", "category"], values)

    stored = dict(Item.objects.filter(sku__startswith="M").values_list("pk", "on_hand"))
    assert stored == {item.pk: values[item.pk][0] if item.pk in values else 0
                      for item in many_items}
    assert set(Item.objects.filter(pk__in=values).values_list("category", flat=True)) == {
        "fixed"}
    assert not Item.objects.filter(sku__startswith="M").exclude(pk__in=values) \
        .exclude(category="").exists()


def test_update_values_writes_few_of_many(many_items):
    chosen = [many_items[5], many_items[600], many_items[-1]]
    values = {item.pk: (40 + index,) for index, item in enumerate(chosen)}

    update_values(Item, ["on_hand"], values)

    stored = dict(Item.objects.filter(sku__startswith="M").values_list("pk", "on_hand"))
    assert {pk: stored[pk] for pk in values} == {pk: on_hand for pk, (on_hand,) in values.items()}
    assert set(stored[item.pk] for item in many_items if item.pk not in values) == {0}


@pytest.mark.parametrize("rows", [1, 2], ids=["one row", "two rows"])
def test_update_values_keeps_each_type(card, scarf, vendor, rows):
    moment = datetime.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=datetime.UTC)
    values = {item.pk: (Decimal("1234567.89"), False, None, "00123", moment)
              for item in [card, scarf][:rows]}

    update_values(Item, ["price", "taxable", "vendor", "category", "created_at"], values)

    for item in [card, scarf][:rows]:
        item.refresh_from_db()
        assert (item.price, item.taxable, item.vendor_id, item.category, item.created_at) == (
            Decimal("1234567.89"), False, None, "00123", moment)
    if rows == 1:
        scarf.refresh_from_db()
        assert (scarf.price, scarf.vendor_id) == (Decimal("30.00"), vendor.pk)


def test_update_values_rejects_too_long_text(card):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite does not enforce varchar lengths")

    with pytest.raises(DataError), transaction.atomic():
        update_values(Item, ["category"], {card.pk: ("x" * 101,)})


def test_update_values_on_sqlite_without_update_from(many_items, monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("the CASE statements serve SQLite before 3.33 only")
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 32, 0))
    values = {item.pk: (item.pk % 7, f"group {item.pk % 2}") for item in many_items[:700]}

    update_values(Item, ["on_hand", "category"], values)

    stored = dict(Item.objects.filter(pk__in=values).values_list("pk", "on_hand"))
    assert stored == {pk: on_hand for pk, (on_hand, _) in values.items()}
    categories = dict(Item.objects.filter(pk__in=values).values_list("pk", "category"))
    assert categories == {pk: category for pk, (_, category) in values.items()}
    assert not Item.objects.exclude(pk__in=values).filter(sku__startswith="M", on_hand__gt=0) \
        .exists()

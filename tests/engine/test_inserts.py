"""Inserting model instances with insert_all, on the real database."""

import datetime
from decimal import Decimal

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from backroom.catalog.models import Item
from backroom.core.inserts import insert_all, insert_numbered, new_instance
from backroom.purchasing.models import PurchaseOrder, PurchaseRequest
from backroom.sales.models import Order, OrderLine, Payment


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


# Fields whose default is the time of construction.
_MOMENTS = {"created_at", "updated_at"}


def _state_of(row) -> tuple:
    values = [(f.attname, getattr(row, f.attname)) for f in type(row)._meta.concrete_fields
              if f.attname not in _MOMENTS]
    moments = {name: getattr(row, name, None) is None for name in _MOMENTS}
    return (values, moments, row._state.adding, row._state.db)


def test_new_instance_equals_model_constructor(owner, customer, card, waiting_order):
    line = waiting_order.lines.first()
    cases = [
        (OrderLine, {"order": waiting_order, "position": 2, "item": card,
                     "description": "Card", "quantity": 3, "pending": 3,
                     "unit_price": Decimal("2.50"), "taxable": True}),
        (Order, {"number": "TMP", "type": "sales_order", "customer": customer,
                 "created_by": None}),
        (Payment, {"order": waiting_order, "kind": "payment", "tender": "cash",
                   "amount": Decimal("4.00"), "user": owner}),
        (PurchaseRequest, {"item_id": card.pk, "vendor_id": card.vendor_id, "quantity": 2,
                           "order_line_id": line.pk, "order_id": waiting_order.pk,
                           "customer_id": customer.pk}),
    ]

    for model, values in cases:
        built, expected = new_instance(model, **values), model(**values)
        assert _state_of(built) == _state_of(expected), model.__name__


def test_new_instance_keeps_related_rows(waiting_order, card):
    line = new_instance(OrderLine, order=waiting_order, item=card, quantity=1)

    with CaptureQueriesContext(connection) as queries:
        assert line.order is waiting_order
        assert line.item is card
    assert len(queries) == 0


def test_new_instance_rejects_unknown_field(card):
    with pytest.raises(TypeError, match="no field 'colour'"):
        new_instance(OrderLine, item=card, colour="blue")


def test_new_instance_rows_insert(waiting_order, card):
    built = new_instance(OrderLine, order=waiting_order, position=9, item=card,
                         description="Card", quantity=2, pending=2, unit_price=Decimal("3.00"))

    insert_all(OrderLine, [built])

    stored = OrderLine.objects.get(pk=built.pk)
    assert (stored.order_id, stored.item_id, stored.quantity, stored.unit_price) == (
        waiting_order.pk, card.pk, 2, Decimal("3.00"))
    assert stored.created_at is not None


def test_insert_numbered_numbers_by_key(vendor):
    first = new_instance(PurchaseOrder, vendor=vendor, note="first")
    second = new_instance(PurchaseOrder, vendor=vendor, note="second")

    insert_numbered(PurchaseOrder, first, "PO-")
    insert_numbered(PurchaseOrder, second, "PO-")

    stored = {po.pk: (po.number, po.note) for po in PurchaseOrder.objects.all()}
    assert stored == {first.pk: (f"PO-{1000 + first.pk}", "first"),
                      second.pk: (f"PO-{1000 + second.pk}", "second")}
    assert second.pk > first.pk
    assert first.number == f"PO-{1000 + first.pk}"
    assert first._state.adding is False

"""Creating many items and counting stock into many items in one call."""

from decimal import Decimal

import pytest

from backroom.catalog.models import Barcode, Item, StockAdjustment
from backroom.catalog.services import ItemInput, item_create, items_count_in, items_create
from backroom.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from backroom.core.invariants import invariant_violations
from backroom.core.models import Event
from backroom.sales.payments import PaymentInput
from backroom.sales.services import LineInput, order_create


def _input(sku: str, **values) -> ItemInput:
    return ItemInput(**{"sku": sku, "description": f"Item {sku}", "price": Decimal("2.50"),
                        **values})


def test_items_create_writes_every_item(owner, vendor):
    items = items_create(user=owner, inputs=[
        _input("X1", vendor="V", cost=Decimal("1.00"), reorder_point=4, reorder_quantity=6,
               barcode="5000001"),
        _input("X2", tracked=False, taxable=False, category="Charges"),
    ])

    assert [item.sku for item in items] == ["X1", "X2"]
    first = Item.objects.get(sku="X1")
    assert first.pk == items[0].pk
    assert first.vendor_id == vendor.pk
    assert (first.price, first.cost) == (Decimal("2.50"), Decimal("1.00"))
    assert (first.reorder_point, first.reorder_quantity) == (4, 6)
    assert (first.on_hand, first.reserved, first.tracked) == (0, 0, True)
    second = Item.objects.get(sku="X2")
    assert (second.tracked, second.taxable, second.category) == (False, False, "Charges")
    assert Barcode.objects.get(code="5000001").item_id == first.pk
    assert Event.objects.filter(action="item_created").count() == 2


@pytest.mark.parametrize(("inputs", "field", "words"), [
    ([_input("OK"), _input("X1"), _input("X1")], "items[2].sku", "already exists"),
    ([_input("OK"), _input("X1", vendor="NOPE")], "items[1].vendor",
     "Vendor 'NOPE' not found"),
    ([_input("OK"), _input("X1", price=Decimal("-1"))], "items[1].price",
     "Price -1 is invalid"),
    ([_input("OK"), _input("A")], "items[1].sku", "Item 'A' already exists"),
    ([_input("OK", barcode="9"), _input("X2", barcode="9")], "items[1].barcode",
     "Barcode '9' is given to an earlier item of this batch too"),
])
def test_items_create_rejects_all(owner, card, inputs, field, words):
    with pytest.raises(ValidationFailed) as raised:
        items_create(user=owner, inputs=inputs)

    errors = {error["field"]: error["message"] for error in raised.value.errors}
    assert field in errors
    assert words in errors[field]
    assert not Item.objects.exclude(pk=card.pk).exists()


def test_items_create_needs_catalog_permission(clerk):
    with pytest.raises(PermissionDenied):
        items_create(user=clerk, inputs=[_input("X1")])
    assert not Item.objects.exists()


def test_items_count_in_adds_stock(owner, card, scarf):
    items_count_in(user=owner, counts={"A": 5, "B": 3}, reason="Opening stock")

    card.refresh_from_db()
    scarf.refresh_from_db()
    assert (card.on_hand, scarf.on_hand) == (15, 3)
    adjustments = {row.item_id: row for row in StockAdjustment.objects.all()}
    assert (adjustments[card.pk].on_hand_before, adjustments[card.pk].on_hand_after) == (10, 15)
    assert adjustments[scarf.pk].quantity == 3
    assert adjustments[scarf.pk].reason == "Opening stock"
    assert Event.objects.filter(action="stock_adjusted").count() == 2
    assert invariant_violations() == []


def test_items_count_in_serves_waiting(owner, customer, card, scarf, store):
    order = order_create(
        user=owner, order_type="sales_order", customer_id=customer.pk,
        lines=[LineInput(sku="B", quantity=2)],
        payments=[PaymentInput(amount=Decimal("60.00"), tender="card")])
    assert order.status == "waiting"

    items_count_in(user=owner, counts={"A": 1, "B": 5}, reason="Found in the back room")

    order.refresh_from_db()
    scarf.refresh_from_db()
    line = order.lines.get()
    assert order.status == "ready"
    assert (line.ready, line.back_ordered) == (2, 0)
    assert (scarf.on_hand, scarf.reserved) == (5, 2)
    assert invariant_violations() == []


@pytest.mark.parametrize(("counts", "reason", "error", "words"), [
    ({"A": 0}, "Count", ValidationFailed, "Quantity 0 of A is invalid"),
    ({"A": -2}, "Count", ValidationFailed, "Quantity -2 of A is invalid"),
    ({"A": 1}, "  ", ValidationFailed, "Give a reason"),
    ({"A": 1, "NOPE": 1}, "Count", NotFound, "Item 'NOPE' not found"),
])
def test_items_count_in_rejects(owner, card, counts, reason, error, words):
    with pytest.raises(error, match=words):
        items_count_in(user=owner, counts=counts, reason=reason)
    card.refresh_from_db()
    assert card.on_hand == 10
    assert not StockAdjustment.objects.exists()


def test_items_count_in_rejects_untracked(owner, card):
    items_create(user=owner, inputs=[_input("FEE", tracked=False)])
    with pytest.raises(ValidationFailed, match="FEE is not stock-tracked"):
        items_count_in(user=owner, counts={"A": 1, "FEE": 1}, reason="Count")
    card.refresh_from_db()
    assert card.on_hand == 10


def test_items_create_names_barcode_owner(owner, card):
    items_create(user=owner, inputs=[_input("X1", barcode="501")])

    with pytest.raises(ValidationFailed) as raised:
        items_create(user=owner, inputs=[_input("X2", barcode="501")])

    assert raised.value.errors == [{
        "field": "items[0].barcode",
        "message": "Barcode '501' belongs to the item with SKU X1; give each barcode to one "
                   "item."}]


def test_item_create_names_barcode_owner(owner, card):
    items_create(user=owner, inputs=[_input("X1", barcode="501")])

    with pytest.raises(Conflict) as raised:
        item_create(user=owner, data=_input("X2", barcode="501"))

    assert str(raised.value) == ("Barcode '501' belongs to the item with SKU X1; give each "
                                 "barcode to one item.")
    assert not Item.objects.filter(sku="X2").exists()

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from backroom.catalog.models import Item, Vendor
from backroom.purchasing.models import POStatus, PurchaseOrder
from backroom.sales.models import Order, OrderStatus

pytestmark = pytest.mark.django_db


def _demo() -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def test_demo_creates_orders_in_every_status(owner):
    _demo()

    statuses = set(Order.objects.values_list("status", flat=True))
    assert statuses == set(OrderStatus.values)
    po_statuses = set(PurchaseOrder.objects.values_list("status", flat=True))
    assert {POStatus.DRAFT, POStatus.SUBMITTED, POStatus.RECEIVED} <= po_statuses


def test_demo_contains_article_data(owner):
    _demo()

    card = Item.objects.get(sku="A")
    scarf = Item.objects.get(sku="B")
    assert Vendor.objects.get(code="V").name == "Vendor V"
    assert (card.description, card.price, card.taxable) == ("birthday card", Decimal("4.00"), False)
    assert (scarf.description, scarf.price, scarf.cost) == ("blue scarf", Decimal("30.00"),
                                                            Decimal("15.00"))
    assert scarf.vendor.code == "V"
    assert scarf.on_hand == 0


def test_demo_article_order_waits_for_scarf(owner):
    _demo()

    order = Order.objects.get(customer__name="Customer C")
    scarf_line = order.lines.get(item__sku="B")
    assert order.status == OrderStatus.WAITING
    assert (order.total, order.paid) == (Decimal("34.00"), Decimal("34.00"))
    assert order.lines.get(item__sku="A").delivered == 1
    assert scarf_line.back_ordered == 1
    assert PurchaseOrder.objects.get(vendor__code="V").status == POStatus.DRAFT


def test_demo_twice_adds_nothing(owner):
    _demo()
    counts = (Item.objects.count(), Order.objects.count(), PurchaseOrder.objects.count())

    output = _demo()

    assert "already there" in output
    assert (Item.objects.count(), Order.objects.count(), PurchaseOrder.objects.count()) == counts


def test_demo_needs_owner(roles):
    with pytest.raises(CommandError, match="backroom init"):
        _demo()

    assert not Item.objects.exists()

"""A small demo store built through the services, as a clerk would build it.

It starts from the help article's example: vendor V, birthday card A with 10
on hand at 4.00, blue scarf B with none on hand at 30.00 costing 15.00, no
tax. Around it come more vendors, items and customers, orders in every status,
and purchase orders in the draft, submitted and received states.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction

from backroom.catalog.models import Item
from backroom.catalog.services import ItemInput, item_adjust_stock, item_create, vendor_create
from backroom.customers.services import customer_create
from backroom.purchasing.services import (
    POLineInput,
    ReceiveLineInput,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_submit,
)
from backroom.sales.payments import PaymentInput
from backroom.sales.services import DeliverLine, LineInput, order_create, order_deliver, order_void

# The item that marks a database as already holding the demo store.
MARKER_SKU = "A"

VENDORS = [
    ("V", "Vendor V", "orders@vendor-v.example.com", 5),
    ("PAPER", "Paper Lantern Press", "sales@paperlantern.example.com", 10),
    ("WOOL", "Northern Wool Mill", "orders@northernwool.example.com", 14),
    ("CLAY", "Riverside Pottery", "", 7),
]

# (sku, description, category, vendor, price, cost, on hand, taxable)
ITEMS = [
    ("A", "birthday card", "Cards", "V", "4.00", "1.50", 10, False),
    ("B", "blue scarf", "Scarves", "V", "30.00", "15.00", 0, False),
    ("C1", "wrapping paper roll", "Paper", "PAPER", "6.50", "2.00", 25, True),
    ("C2", "linen notebook", "Paper", "PAPER", "12.00", "5.00", 8, True),
    ("S2", "red wool scarf", "Scarves", "WOOL", "34.00", "17.00", 0, True),
    ("S3", "wool mittens", "Scarves", "WOOL", "22.00", "10.00", 6, True),
    ("M1", "stoneware mug", "Pottery", "CLAY", "18.00", "7.50", 0, True),
    ("M2", "serving bowl", "Pottery", "CLAY", "45.00", "20.00", 3, True),
]

# (name, email, phone, notify)
CUSTOMERS = [
    ("Customer C", "c@example.com", "", True),
    ("Dana Whitfield", "dana@example.com", "555-0142", True),
    ("Evan Morales", "evan@example.com", "", True),
    ("Fiona Park", "", "555-0199", False),
    ("Grace Liu", "grace@example.com", "", False),
]


@dataclass(frozen=True)
class DemoStore:
    orders: dict[str, str]
    purchase_orders: dict[str, str]


def demo_store_exists() -> bool:
    return Item.objects.filter(sku=MARKER_SKU).exists()


def _cash(amount: str) -> list[PaymentInput]:
    return [PaymentInput(amount=Decimal(amount), tender="cash")]


@transaction.atomic
def demo_store_create(owner: User) -> DemoStore:
    """Create the demo catalog, customers, orders and purchase orders, acting as `owner`."""
    _catalog_create(owner)
    customers = {
        name: customer_create(name=name, email=email, phone=phone, notify=notify).pk
        for name, email, phone, notify in CUSTOMERS
    }
    orders: dict[str, str] = {}
    purchase_orders: dict[str, str] = {}

    # The article's flow up to its third step: C takes the card home now and
    # waits for the scarf, which sits on a draft purchase order to vendor V.
    article = order_create(
        user=owner, order_type="sales_order", customer_id=customers["Customer C"],
        lines=[LineInput(sku="A", quantity=1), LineInput(sku="B", quantity=1)],
        payments=_cash("34.00"))
    card_line = article.lines.get(item__sku="A")
    order_deliver(user=owner, number=article.number,
                  lines=[DeliverLine(line_id=card_line.pk, quantity=1)])
    orders["waiting, scarf on a draft PO"] = article.number
    draft = purchase_order_create(user=owner, vendor="V", include_purchase_requests=True)
    purchase_orders["draft"] = draft.number

    # A special order on a PO that the vendor has but not yet shipped.
    special = order_create(
        user=owner, order_type="special_order", customer_id=customers["Dana Whitfield"],
        lines=[LineInput(sku="S2", quantity=2)],
        payments=[PaymentInput(amount=Decimal("17.00"), tender="card")])
    orders["waiting, special order on a submitted PO"] = special.number
    submitted = purchase_order_create(user=owner, vendor="WOOL", include_purchase_requests=True)
    purchase_order_submit(user=owner, number=submitted.number)
    purchase_orders["submitted"] = submitted.number

    # Goods arrived: the mugs for Evan are reserved, the extra units go to stock.
    ready = order_create(
        user=owner, order_type="sales_order", customer_id=customers["Evan Morales"],
        lines=[LineInput(sku="M2", quantity=1), LineInput(sku="M1", quantity=2)],
        payments=_cash("20.25"))
    orders["ready, notified"] = ready.number
    received = purchase_order_create(user=owner, vendor="CLAY", include_purchase_requests=True,
                                     lines=[POLineInput(sku="M1", quantity=4)])
    purchase_order_submit(user=owner, number=received.number)
    purchase_order_receive(user=owner, number=received.number, lines=[
        ReceiveLineInput(line_id=line.pk, quantity=line.quantity)
        for line in received.lines.order_by("id")])
    purchase_orders["received"] = received.number

    layaway = order_create(
        user=owner, order_type="layaway", customer_id=customers["Grace Liu"],
        lines=[LineInput(sku="C2", quantity=1)], payments=_cash("5.00"))
    orders["ready, layaway paid in part"] = layaway.number

    sale = order_create(
        user=owner, order_type="sale", customer_id=None,
        lines=[LineInput(sku="A", quantity=2), LineInput(sku="C1", quantity=1)],
        payments=_cash("14.50"))
    orders["delivered, walk-in sale"] = sale.number

    voided = order_create(
        user=owner, order_type="sales_order", customer_id=customers["Fiona Park"],
        lines=[LineInput(sku="S3", quantity=1), LineInput(sku="A", quantity=1)],
        payments=_cash("26.00"))
    order_void(user=owner, number=voided.number, reason="The customer changed their mind.")
    orders["cancelled, voided and refunded"] = voided.number

    on_hold = order_create(
        user=owner, order_type="sales_order", customer_id=customers["Grace Liu"],
        lines=[LineInput(sku="B", quantity=1), LineInput(sku="C1", quantity=2)],
        payments=[], hold=True)
    orders["on hold"] = on_hold.number

    return DemoStore(orders=orders, purchase_orders=purchase_orders)


def _catalog_create(owner: User) -> None:
    for code, name, email, lead_time_days in VENDORS:
        vendor_create(user=owner, code=code, name=name, email=email,
                      lead_time_days=lead_time_days)
    for sku, description, category, vendor, price, cost, on_hand, taxable in ITEMS:
        item_create(user=owner, data=ItemInput(
            sku=sku, description=description, category=category, vendor=vendor,
            price=Decimal(price), cost=Decimal(cost), taxable=taxable))
        if on_hand:
            item_adjust_stock(user=owner, sku=sku, quantity=on_hand, reason="Demo opening stock")


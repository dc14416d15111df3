"""Two clerks at once, on PostgreSQL with two real connections.

One transaction takes its row locks and keeps them open. The other request
arrives meanwhile, waits on the lock, re-reads after the first commits and
gets a clean 409. Every invariant holds afterwards.
"""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from backroom.catalog.models import Item
from backroom.core.invariants import invariant_violations
from backroom.purchasing.models import PurchaseOrderLine
from backroom.purchasing.services import (
    ReceiveLineInput,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_submit,
)
from backroom.sales.models import Order, Payment, PaymentKind
from backroom.sales.payments import PaymentInput, order_refund
from backroom.sales.services import LineInput, order_create

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="row locks between two connections need PostgreSQL"),
]

HOLD_SECONDS = 1.0


def race(first, second_request):
    """Run `first` in a transaction held open while `second_request` runs on another
    connection; return the second's HTTP response and whether it was still waiting
    when the first committed."""
    locked = threading.Event()
    released = threading.Event()
    outcome: dict = {}
    errors: list[BaseException] = []

    def hold():
        try:
            with transaction.atomic():
                first()
                locked.set()
                # Keep the locks while the other request arrives and waits.
                threading.Event().wait(HOLD_SECONDS)
                outcome["waiting_at_commit"] = "response" not in outcome
        except BaseException as error:  # reported to the test below
            errors.append(error)
            locked.set()
        finally:
            released.set()
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(timeout=30)

    def send():
        try:
            outcome["response"] = second_request()
        finally:
            connections.close_all()

    sender = threading.Thread(target=send)
    sender.start()
    sender.join(timeout=60)
    holder.join(timeout=60)
    assert not errors, errors
    assert released.is_set()
    return outcome["response"], outcome["waiting_at_commit"]


def test_two_clerks_selling_last_unit(api, owner, customer, vendor):
    item = Item.objects.create(sku="LAST", description="last vase", price=Decimal("20.00"),
                               on_hand=1, taxable=False)
    sale = {"type": "sale", "lines": [{"sku": "LAST", "quantity": 1}],
            "payments": [{"amount": "20.00", "tender": "card"}]}

    response, waited = race(
        lambda: order_create(user=owner, order_type="sale", customer_id=None,
                             lines=[LineInput(sku="LAST", quantity=1)],
                             payments=[PaymentInput(amount=Decimal("20.00"), tender="card")]),
        lambda: api.post("/orders", sale))

    assert waited
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    item.refresh_from_db()
    assert item.on_hand == 0
    assert Order.objects.count() == 1
    assert invariant_violations() == []


def test_two_receipts_of_same_po_line(api, owner, customer, scarf):
    order_create(user=owner, order_type="sales_order", customer_id=customer.pk,
                 lines=[LineInput(sku="B", quantity=2)],
                 payments=[PaymentInput(amount=Decimal("60.00"), tender="card")])
    po = purchase_order_create(user=owner, vendor="V", include_purchase_requests=True)
    purchase_order_submit(user=owner, number=po.number)
    po_line = PurchaseOrderLine.objects.get(purchase_order=po)

    response, waited = race(
        lambda: purchase_order_receive(user=owner, number=po.number,
                                       lines=[ReceiveLineInput(line_id=po_line.pk, quantity=1)]),
        lambda: api.post(f"/purchase-orders/{po.number}/receipts",
                         {"lines": [{"id": po_line.pk, "quantity": 2}]}))

    assert waited
    assert response.status_code == 409
    assert response.json()["code"] == "over_receipt"
    po_line.refresh_from_db()
    assert po_line.received == 1
    scarf.refresh_from_db()
    assert scarf.on_hand == 1
    assert scarf.reserved == 1
    assert invariant_violations() == []


def test_two_refunds_of_same_payment(api, owner, customer, card):
    order = order_create(user=owner, order_type="sales_order", customer_id=customer.pk,
                         lines=[LineInput(sku="A", quantity=5)],
                         payments=[PaymentInput(amount=Decimal("20.00"), tender="card")])

    response, waited = race(
        lambda: order_refund(user=owner, number=order.number, amount=Decimal("20.00"),
                             reason="customer changed mind"),
        lambda: api.post(f"/orders/{order.number}/refunds",
                         {"amount": "20.00", "reason": "customer changed mind"}))

    assert waited
    assert response.status_code == 409
    assert response.json()["code"] == "refund_exceeds_paid"
    assert Payment.objects.filter(order=order, kind=PaymentKind.REFUND).count() == 1
    order.refresh_from_db()
    assert order.paid == Decimal("0.00")
    assert invariant_violations() == []


def test_request_during_po_creation_left_open(owner, customer, scarf, monkeypatch):
    from backroom.purchasing import services
    from backroom.purchasing.models import PurchaseRequest, RequestStatus

    Item.objects.create(sku="D", description="dark scarf", price=Decimal("30.00"),
                        vendor=scarf.vendor, taxable=False)
    order_create(user=owner, order_type="sales_order", customer_id=customer.pk,
                 lines=[LineInput(sku="B", quantity=1)],
                 payments=[PaymentInput(amount=Decimal("30.00"), tender="card")])
    lock_requests_items = services._request_items_lock
    errors: list[BaseException] = []

    def sell_other_item():
        try:
            order_create(user=owner, order_type="sales_order", customer_id=customer.pk,
                         lines=[LineInput(sku="D", quantity=2)],
                         payments=[PaymentInput(amount=Decimal("60.00"), tender="card")])
        except BaseException as error:  # reported to the test below
            errors.append(error)
        finally:
            connections.close_all()

    def lock_then_let_other_clerk_sell(of_vendor, item_ids):
        # The other clerk's order locks an item this transaction has not locked, so
        # it commits its request before this one reads the requests.
        locked = lock_requests_items(of_vendor, item_ids)
        clerk = threading.Thread(target=sell_other_item)
        clerk.start()
        clerk.join(timeout=30)
        return locked

    monkeypatch.setattr(services, "_request_items_lock", lock_then_let_other_clerk_sell)
    po = purchase_order_create(user=owner, vendor="V", include_purchase_requests=True)

    assert not errors, errors
    assert [(line.item.sku, line.quantity) for line in po.lines.select_related("item")] == [
        ("B", 1)]
    later = PurchaseRequest.objects.get(item__sku="D")
    assert (later.status, later.po_line_id, later.quantity) == (RequestStatus.OPEN, None, 2)
    assert invariant_violations() == []

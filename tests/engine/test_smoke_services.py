from decimal import Decimal

import pytest

from backroom.core.errors import NotFound, ValidationFailed
from backroom.core.models import Event
from backroom.customers.services import customer_update, walk_in_customer
from backroom.purchasing.services import (
    ReceiveLineInput,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_submit,
)
from backroom.sales.payments import PaymentInput
from backroom.sales.services import DeliverLine, LineInput, order_create, order_deliver


def test_article_flow_through_services(owner, customer, card, scarf, store):
    order = order_create(
        user=owner, order_type="sales_order", customer_id=customer.pk,
        lines=[LineInput(sku="A", quantity=1), LineInput(sku="B", quantity=1)],
        payments=[PaymentInput(amount=Decimal("34.00"), tender="cash")])
    assert order.status == "waiting"
    assert order.total == Decimal("34.00")
    card.refresh_from_db()
    assert (card.on_hand, card.reserved) == (10, 1)

    line_a = order.lines.get(item=card)
    order = order_deliver(user=owner, number=order.number,
                          lines=[DeliverLine(line_id=line_a.pk, quantity=1)])
    assert order.status == "waiting"

    po = purchase_order_create(user=owner, vendor="V", include_purchase_requests=True)
    assert po.lines.get().quantity == 1
    purchase_order_submit(user=owner, number=po.number)
    receipt = purchase_order_receive(user=owner, number=po.number, lines=[
        ReceiveLineInput(line_id=po.lines.get().pk, quantity=1)])
    assert receipt.notices.get().quantity == 1
    order.refresh_from_db()
    assert order.status == "ready"
    assert order.notified_at is not None

    order = order_deliver(user=owner, number=order.number)
    assert order.status == "delivered"
    assert order.total - order.paid == Decimal("0.00")


def test_walk_in_customer_cannot_be_changed(db):
    walk_in = walk_in_customer()

    with pytest.raises(ValidationFailed) as raised:
        customer_update(customer_id=walk_in.pk, name="Someone")

    assert str(raised.value) == (
        f"Customer {walk_in.pk} is the walk-in customer ('{walk_in.name}'), used for sales "
        "to unnamed customers, and cannot be changed; add a customer instead.")
    walk_in.refresh_from_db()
    assert walk_in.name != "Someone"


def test_customer_update_unknown_id(db):
    with pytest.raises(NotFound) as raised:
        customer_update(customer_id=999_999, name="Someone")

    assert str(raised.value) == "Customer 999999 not found; check the id."


def test_delivery_rejects_line_given_twice(owner, customer, card, store):
    order = order_create(
        user=owner, order_type="sales_order", customer_id=customer.pk,
        lines=[LineInput(sku="A", quantity=3)],
        payments=[PaymentInput(amount=Decimal("12.00"), tender="cash")])
    line = order.lines.get()
    events_before = Event.objects.count()

    with pytest.raises(ValidationFailed) as raised:
        order_deliver(user=owner, number=order.number,
                      lines=[DeliverLine(line_id=line.pk, quantity=1),
                             DeliverLine(line_id=line.pk, quantity=2)])

    assert str(raised.value) == (
        f"Line {line.pk} is given twice. Give each line once, with all the units to hand "
        "over from it.")
    assert raised.value.field == "lines[1].id"
    line.refresh_from_db()
    assert (line.delivered, line.ready) == (0, 3)
    card.refresh_from_db()
    assert (card.on_hand, card.reserved) == (10, 3)
    assert Event.objects.count() == events_before

"""The sales services' SQL statements: several rows at once, orders without lines, ids out
of range."""

from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from backroom.catalog.models import Item
from backroom.core.errors import NotFound, NothingToDeliver
from backroom.customers.models import Customer
from backroom.customers.services import walk_in_customer
from backroom.sales.locks import lock_order_by_number, lock_orders
from backroom.sales.models import Order, Payment, PaymentKind
from backroom.sales.notices import ready_notices_schedule, ready_notices_send
from backroom.sales.payments import (
    PaymentInput,
    order_add_payment,
    order_refund,
    payment_void,
    refundable_by_payment,
)
from backroom.sales.services import (
    LineInput,
    _items_by_sku,
    line_cancel,
    order_create,
    order_deliver,
)
from backroom.sales.totals import order_sync


def test_lock_order_by_number_reads_order(waiting_order):
    order = lock_order_by_number(waiting_order.number)

    assert order.pk == waiting_order.pk
    assert order.status == "waiting"
    assert order.paid == Decimal("34.00")


def test_lock_order_by_number_unknown(db):
    with pytest.raises(NotFound) as raised:
        lock_order_by_number("404")

    assert str(raised.value) == "Order '404' not found; check the number."


def test_order_deliver_order_without_lines(owner, customer):
    order = Order.objects.create(number="77", type="sales_order", customer=customer,
                                 finalized_at=timezone.now(), status="ready")

    with pytest.raises(NothingToDeliver) as raised:
        order_deliver(user=owner, number="77")

    assert str(raised.value) == "Order 77 has nothing ready to hand over."
    assert Order.objects.get(pk=order.pk).status == "ready"


def test_order_deliver_unknown_number(owner):
    with pytest.raises(NotFound) as raised:
        order_deliver(user=owner, number="404")

    assert str(raised.value) == "Order '404' not found; check the number."


def test_line_cancel_line_of_other_order(owner, waiting_order, customer, card):
    other = order_create(user=owner, order_type="sales_order", customer_id=customer.pk,
                         lines=[LineInput(sku="A", quantity=1)],
                         payments=[PaymentInput(amount=Decimal("4.00"), tender="cash")])
    line = other.lines.get()

    with pytest.raises(NotFound) as raised:
        line_cancel(user=owner, number=waiting_order.number, line_id=line.pk, quantity=1)

    assert str(raised.value) == f"Line {line.pk} is not on order {waiting_order.number}."
    assert Order.objects.get(pk=other.pk).lines.get().ready == 1


def test_lock_orders_returns_several(waiting_order, owner, customer, card):
    other = order_create(user=owner, order_type="sales_order", customer_id=customer.pk,
                         lines=[LineInput(sku="A", quantity=1)],
                         payments=[PaymentInput(amount=Decimal("4.00"), tender="cash")])

    orders = lock_orders([other.pk, waiting_order.pk, other.pk])

    assert list(orders) == sorted([waiting_order.pk, other.pk])
    assert orders[other.pk].number == other.number
    assert orders[waiting_order.pk].paid == Decimal("34.00")


def test_order_create_out_of_range_customer_not_found(owner, card):
    with pytest.raises(NotFound) as raised:
        order_create(user=owner, order_type="sales_order", customer_id=2 ** 70,
                     lines=[LineInput(sku="A", quantity=1)], payments=[])

    assert str(raised.value) == (f"Customer {2 ** 70} not found; check the id or create the "
                                 "customer first.")


def test_line_cancel_out_of_range_line_not_found(owner, waiting_order):
    with pytest.raises(NotFound) as raised:
        line_cancel(user=owner, number=waiting_order.number, line_id=2 ** 70, quantity=1)

    assert str(raised.value) == f"Line {2 ** 70} is not on order {waiting_order.number}."


def test_refundable_by_payment_nets_live_refunds(owner, customer, card):
    order = order_create(user=owner, order_type="sales_order", customer_id=customer.pk,
                         lines=[LineInput(sku="A", quantity=2)],
                         payments=[PaymentInput(amount=Decimal("3.00"), tender="cash")])
    order_add_payment(user=owner, number=order.number,
                      payment=PaymentInput(amount=Decimal("5.00"), tender="card"))
    first, second = Payment.objects.filter(order=order).order_by("id")
    order_refund(user=owner, number=order.number, amount=Decimal("6.00"), reason="Test")
    order_refund(user=owner, number=order.number, amount=Decimal("1.00"), reason="Test")
    voided = Payment.objects.filter(order=order).latest("id")
    payment_void(user=owner, number=order.number, payment_id=voided.pk, reason="Test")

    refundable = refundable_by_payment(order)

    assert [payment.pk for payment, _ in refundable] == [second.pk, first.pk]
    assert [amount for _, amount in refundable] == [Decimal("0.00"), Decimal("2.00")]
    assert Payment.objects.filter(order=order, kind=PaymentKind.REFUND).count() == 3


def test_order_sync_reads_several_orders(waiting_order, owner, customer, card):
    other = order_create(user=owner, order_type="sales_order", customer_id=customer.pk,
                         lines=[LineInput(sku="A", quantity=2)],
                         payments=[PaymentInput(amount=Decimal("2.00"), tender="cash")])
    Order.objects.filter(pk__in=[waiting_order.pk, other.pk]).update(
        subtotal=0, tax=0, total=0, paid=0)
    orders = lock_orders([waiting_order.pk, other.pk])

    order_sync(orders.values())

    first, second = Order.objects.filter(pk__in=orders).order_by("id")
    assert (first.total, first.paid) == (Decimal("34.00"), Decimal("34.00"))
    assert (second.total, second.paid) == (Decimal("8.00"), Decimal("2.00"))


def test_ready_notices_schedule_picks_notifiable_customers(db):
    customers = {
        "named": Customer.objects.create(name="Ann", email="ann@example.com"),
        "no email": Customer.objects.create(name="Bob"),
        "no consent": Customer.objects.create(name="Cy", email="cy@example.com", notify=False),
        "walk-in": walk_in_customer(),
    }
    Customer.objects.filter(pk=customers["walk-in"].pk).update(email="shop@example.com",
                                                               notify=True)
    orders = {label: Order.objects.create(number=str(index), type="sales_order",
                                          customer=customer)
              for index, (label, customer) in enumerate(customers.items(), start=1)}

    ready_notices_schedule(orders.values())

    notified = {label for label, order in orders.items()
                if Order.objects.get(pk=order.pk).notified_at is not None}
    assert notified == {"named"}
    assert orders["named"].notified_at is not None
    assert orders["no email"].notified_at is None


def test_ready_notices_send_several_orders(owner, customer, card, scarf, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # The first order's card taken at once leaves one line ready, which the notice lists.
    first = order_create(user=owner, order_type="sales_order", customer_id=customer.pk,
                         lines=[LineInput(sku="A", quantity=1, take_now=True),
                                LineInput(sku="A", quantity=2)],
                         payments=[PaymentInput(amount=Decimal("10.00"), tender="cash")])
    second = order_create(user=owner, order_type="sales_order", customer_id=customer.pk,
                          lines=[LineInput(sku="A", quantity=1)],
                          payments=[PaymentInput(amount=Decimal("1.00"), tender="cash")])

    sent = ready_notices_send([second.pk, first.pk])

    assert sent == 2
    assert [message.subject for message in mail.outbox] == [
        f"Your order {first.number} is ready for pick-up",
        f"Your order {second.number} is ready for pick-up"]
    assert "  2 x birthday card\n\n" in mail.outbox[0].body
    assert "1 x birthday card" not in mail.outbox[0].body
    assert "Balance due: 2.00 USD" in mail.outbox[0].body
    assert "Balance due: 3.00 USD" in mail.outbox[1].body
    assert mail.outbox[0].to == ["c@example.com"]


# SKUs with the characters that JSON text and PostgreSQL array literals quote.
ODD_SKUS = ['Q"1', "Q,2", "Q{3}", "Q\\4", "Q 5", "NULL"]


@pytest.mark.parametrize("lock", [True, False], ids=["locked", "unlocked"])
def test_items_by_sku_reads_given_skus(vendor, card, scarf, lock):
    odd = [Item.objects.create(sku=sku, description=f"odd {sku}", price=Decimal("1.00"),
                               vendor=vendor) for sku in ODD_SKUS]

    found = _items_by_sku({*ODD_SKUS, card.sku, "MISSING"}, lock=lock)

    assert [item.pk for item in found] == sorted([card.pk, *(item.pk for item in odd)])
    assert {item.sku for item in found} == {*ODD_SKUS, card.sku}
    assert scarf.pk not in {item.pk for item in found}


def test_order_create_with_odd_skus(owner, customer, vendor, store):
    for sku in ODD_SKUS:
        Item.objects.create(sku=sku, description=f"odd {sku}", price=Decimal("2.00"),
                            vendor=vendor, on_hand=5, taxable=False)

    order = order_create(
        user=owner, order_type="sales_order", customer_id=customer.pk,
        lines=[LineInput(sku=sku, quantity=2) for sku in ODD_SKUS],
        payments=[PaymentInput(amount=Decimal("24.00"), tender="card")])

    lines = list(order.lines.select_related("item").order_by("position"))
    assert [line.item.sku for line in lines] == ODD_SKUS
    assert [line.ready for line in lines] == [2] * len(ODD_SKUS)
    assert set(Item.objects.filter(sku__in=ODD_SKUS).values_list("reserved", flat=True)) == {2}

"""Receipts and stock that serve many waiting lines at once: order statuses, request
and PO line quantities, receiving notices and audit events."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backroom.allocation.services import Offer, stock_offers
from backroom.catalog.locks import lock_items
from backroom.catalog.models import Item
from backroom.catalog.services import item_adjust_stock
from backroom.core.audit import AuditLog
from backroom.core.invariants import invariant_violations
from backroom.core.models import Event
from backroom.customers.models import Customer
from backroom.purchasing.models import (
    PurchaseOrderLine,
    PurchaseRequest,
    ReceivingNotice,
    RequestStatus,
)
from backroom.purchasing.services import (
    POLineInput,
    ReceiveLineInput,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_submit,
)
from backroom.sales.models import Order, OrderLine
from backroom.sales.payments import PaymentInput
from backroom.sales.services import LineInput, order_create
from backroom.sales.totals import Buckets, order_sync


@pytest.fixture
def lamp(db, vendor):
    return Item.objects.create(sku="L", description="desk lamp", price=Decimal("10.00"),
                               vendor=vendor, on_hand=0, taxable=False)


@pytest.fixture
def vase(db, vendor):
    return Item.objects.create(sku="V", description="glass vase", price=Decimal("10.00"),
                               vendor=vendor, on_hand=0, taxable=False)


@pytest.fixture
def other_customer(db):
    return Customer.objects.create(name="Customer D", email="d@example.com")


def back_order(user, customer, *lines: tuple[str, int]) -> Order:
    """Create a sales order, paid in full, of 10.00 items that have no stock."""
    total = sum(quantity for _, quantity in lines) * Decimal("10.00")
    return order_create(user=user, order_type="sales_order", customer_id=customer.pk,
                        lines=[LineInput(sku=sku, quantity=quantity) for sku, quantity in lines],
                        payments=[PaymentInput(amount=total, tender="card")])


def submitted_po(user, **options):
    po = purchase_order_create(user=user, vendor="V", **options)
    return purchase_order_submit(user=user, number=po.number)


def receive(user, po, sku: str, quantity: int):
    line = po.lines.get(item__sku=sku)
    return purchase_order_receive(user=user, number=po.number,
                                  lines=[ReceiveLineInput(line_id=line.pk, quantity=quantity)])


def line_of(order: Order, sku: str) -> OrderLine:
    return order.lines.get(item__sku=sku)


def status_of(order: Order) -> str:
    order.refresh_from_db()
    return order.status


def test_other_item_keeps_order_waiting(owner, customer, other_customer, lamp, vase):
    two_items = back_order(owner, customer, ("L", 1), ("V", 1))
    lamp_only = back_order(owner, other_customer, ("L", 1))
    po = submitted_po(owner, include_purchase_requests=True)

    receive(owner, po, "L", 2)

    assert status_of(two_items) == "waiting"
    assert status_of(lamp_only) == "ready"
    assert line_of(two_items, "L").ready == 1
    assert line_of(two_items, "V").back_ordered == 1
    assert two_items.ready_at is None
    assert lamp_only.ready_at is not None
    assert invariant_violations() == []


def test_several_lines_of_one_order(owner, customer, other_customer, lamp, vase):
    """One receipt serves two lamp lines of one order, which still waits for a vase."""
    lamps_and_vase = order_create(
        user=owner, order_type="sales_order", customer_id=customer.pk,
        lines=[LineInput(sku="L", quantity=1), LineInput(sku="V", quantity=1),
               LineInput(sku="L", quantity=2)],
        payments=[PaymentInput(amount=Decimal("40.00"), tender="card")])
    lamps_only = order_create(
        user=owner, order_type="sales_order", customer_id=other_customer.pk,
        lines=[LineInput(sku="L", quantity=1), LineInput(sku="L", quantity=1)],
        payments=[PaymentInput(amount=Decimal("20.00"), tender="card")])
    po = submitted_po(owner, include_purchase_requests=True)

    receipt = receive(owner, po, "L", 5)

    assert status_of(lamps_and_vase) == "waiting"
    assert status_of(lamps_only) == "ready"
    lamp_lines = lamps_and_vase.lines.filter(item=lamp).order_by("position")
    assert [(line.back_ordered, line.ready) for line in lamp_lines] == [(0, 1), (0, 2)]
    notices = ReceivingNotice.objects.filter(receipt=receipt).order_by("pk")
    assert sorted((notice.order_id, notice.quantity, notice.order_status)
                  for notice in notices) == [
        (lamps_and_vase.pk, 1, "waiting"), (lamps_and_vase.pk, 2, "waiting"),
        (lamps_only.pk, 1, "ready"), (lamps_only.pk, 1, "ready")]
    ready_events = Event.objects.filter(action="order_ready")
    assert list(ready_events.values_list("order_id", flat=True)) == [lamps_only.pk]
    assert invariant_violations() == []


def test_receipt_of_two_items_readies_order(owner, customer, other_customer, lamp, vase):
    """Both items of one order arrive in one receipt: the order turns ready once."""
    both = back_order(owner, customer, ("L", 1), ("V", 2))
    vase_only = back_order(owner, other_customer, ("V", 1))
    po = submitted_po(owner, include_purchase_requests=True)
    lines = {line.item.sku: line for line in po.lines.select_related("item")}

    receipt = purchase_order_receive(user=owner, number=po.number, lines=[
        ReceiveLineInput(line_id=lines["L"].pk, quantity=1),
        ReceiveLineInput(line_id=lines["V"].pk, quantity=2)])

    assert status_of(both) == "ready"
    assert status_of(vase_only) == "waiting"
    notices = ReceivingNotice.objects.filter(receipt=receipt)
    assert sorted((notice.item_id, notice.quantity, notice.order_status)
                  for notice in notices) == [(lamp.pk, 1, "ready"), (vase.pk, 2, "ready")]
    assert list(Event.objects.filter(action="order_ready")
                .values_list("order_id", flat=True)) == [both.pk]
    lamp.refresh_from_db()
    vase.refresh_from_db()
    assert (lamp.on_hand, lamp.reserved) == (1, 1)
    assert (vase.on_hand, vase.reserved) == (2, 2)
    assert invariant_violations() == []


def test_receipt_statements_do_not_grow_with_items(owner, customer, vendor):
    """Serving a waiting order from one item or from five takes as many statements."""
    skus = [f"K{index}" for index in range(8)]
    for sku in skus:
        Item.objects.create(sku=sku, description=f"kettle {sku}", price=Decimal("10.00"),
                            vendor=vendor, on_hand=0, taxable=False)
    order = back_order(owner, customer, *[(sku, 1) for sku in skus])
    po = submitted_po(owner, include_purchase_requests=True)
    lines = {line.item.sku: line for line in po.lines.select_related("item")}

    def statements(receive_skus: list[str]) -> int:
        with CaptureQueriesContext(connection) as queries:
            purchase_order_receive(user=owner, number=po.number, lines=[
                ReceiveLineInput(line_id=lines[sku].pk, quantity=1) for sku in receive_skus])
        return len(queries.captured_queries)

    one_item = statements(skus[:1])
    five_items = statements(skus[1:6])

    assert five_items == one_item
    assert status_of(order) == "waiting"
    assert order.lines.filter(ready=1).count() == 6
    assert invariant_violations() == []


def test_offers_of_one_item_served_in_turn(owner, customer, other_customer, lamp):
    """Two offers of the same item: the second serves whom the first left waiting."""
    first = back_order(owner, customer, ("L", 1))
    second = back_order(owner, other_customer, ("L", 1))
    Item.objects.filter(pk=lamp.pk).update(on_hand=3)

    with transaction.atomic():
        locked = lock_items([lamp.pk])[lamp.pk]
        audit = AuditLog(owner)
        results = stock_offers([Offer(locked, 1), Offer(locked, 2)], audit,
                               source="adjustment")
        audit.flush()

    assert [(result.served, result.leftover) for result in results] == [(1, 0), (1, 1)]
    assert status_of(first) == "ready"
    assert status_of(second) == "ready"
    lamp.refresh_from_db()
    assert lamp.reserved == 2
    assert invariant_violations() == []


def test_receipt_notices_and_audit(owner, customer, other_customer, lamp):
    first = back_order(owner, customer, ("L", 2))
    second = back_order(owner, other_customer, ("L", 1))
    po = submitted_po(owner, include_purchase_requests=True)
    first_line = line_of(first, "L")
    first_request = PurchaseRequest.objects.get(order_line=first_line)
    before = timezone.now()

    receipt = receive(owner, po, "L", 2)

    notice = ReceivingNotice.objects.get(receipt=receipt)
    assert (notice.source, notice.order_id, notice.order_line_id, notice.customer_id,
            notice.item_id, notice.quantity, notice.order_status) == (
        "receipt", first.pk, first_line.pk, customer.pk, lamp.pk, 2, "ready")
    assert notice.created_at >= before
    reserved = Event.objects.get(action="units_reserved")
    assert (reserved.order_id, reserved.item_id, reserved.user_id) == (first.pk, lamp.pk,
                                                                       owner.pk)
    assert reserved.detail == {
        "line": first_line.pk, "sku": "L", "quantity": 2, "source": "receipt",
        "request": first_request.pk, "receipt": receipt.number, "back_ordered_after": 0,
        "ready_after": 2}
    assert list(Event.objects.filter(action="order_ready")
                .values_list("order_id", flat=True)) == [first.pk]
    first_request.refresh_from_db()
    assert (first_request.quantity, first_request.served, first_request.status) == (
        0, 2, RequestStatus.FULFILLED)
    assert status_of(second) == "waiting"
    lamp.refresh_from_db()
    assert (lamp.on_hand, lamp.reserved) == (2, 2)
    assert invariant_violations() == []


def test_partial_serve_keeps_request(owner, customer, lamp):
    order = back_order(owner, customer, ("L", 3))
    po = submitted_po(owner, include_purchase_requests=True)

    receipt = receive(owner, po, "L", 2)

    request = PurchaseRequest.objects.get(order=order)
    assert (request.quantity, request.served, request.status) == (1, 2, RequestStatus.ON_ORDER)
    line = line_of(order, "L")
    assert (line.back_ordered, line.ready) == (1, 2)
    assert ReceivingNotice.objects.get(receipt=receipt).order_status == "waiting"
    assert not Event.objects.filter(action="order_ready").exists()
    assert status_of(order) == "waiting"


def test_draft_po_line_shrinks(owner, customer, lamp):
    """A receipt on another PO serves the request of a draft PO, whose line keeps
    only the units ordered for stock."""
    order = back_order(owner, customer, ("L", 1))
    draft = purchase_order_create(user=owner, vendor="V", include_purchase_requests=True,
                                  lines=[POLineInput(sku="L", quantity=2)])
    stock_po = submitted_po(owner, lines=[POLineInput(sku="L", quantity=1)])

    receive(owner, stock_po, "L", 1)

    draft_line = PurchaseOrderLine.objects.get(purchase_order=draft)
    assert draft_line.quantity == 2
    request = PurchaseRequest.objects.get(order=order)
    assert (request.quantity, request.status, request.po_line_id) == (
        0, RequestStatus.FULFILLED, draft_line.pk)
    assert status_of(order) == "ready"
    assert invariant_violations() == []


def test_adjustment_cancels_served_requests(owner, customer, other_customer, lamp):
    """Units found in stock serve the waiting customers. Their requests are cancelled,
    not fulfilled, and the notices name no receipt."""
    first = back_order(owner, customer, ("L", 1))
    second = back_order(owner, other_customer, ("L", 1))
    submitted_po(owner, include_purchase_requests=True)

    item_adjust_stock(user=owner, sku="L", quantity=2, reason="found")

    assert [status_of(first), status_of(second)] == ["ready", "ready"]
    assert set(PurchaseRequest.objects.values_list("status", flat=True)) == {
        RequestStatus.CANCELLED}
    notices = ReceivingNotice.objects.order_by("pk")
    assert [(notice.receipt_id, notice.source, notice.order_id) for notice in notices] == [
        (None, "adjustment", first.pk), (None, "adjustment", second.pk)]
    assert invariant_violations() == []


def test_status_sync_reads_undecided_order(owner, customer, card, lamp):
    """Buckets with nothing back-ordered or ready leave the delivered units to decide."""
    order = order_create(user=owner, order_type="sales_order", customer_id=customer.pk,
                         lines=[LineInput(sku="A", quantity=1, take_now=True),
                                LineInput(sku="L", quantity=1)],
                         payments=[PaymentInput(amount=Decimal("14.00"), tender="card")])
    lamp_line = line_of(order, "L")
    OrderLine.objects.filter(pk=lamp_line.pk).update(back_ordered=0, cancelled=1)

    became_ready = order_sync([order], buckets={order.pk: [Buckets(0, 0)]})

    assert became_ready == []
    assert status_of(order) == "delivered"

"""Reads and writes of purchasing, catalog and allocation that run as SQL text:
they return and change what the querysets they replaced did."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backroom.allocation.services import _waiting_requests, items_waited_for
from backroom.catalog.models import Item, Vendor
from backroom.catalog.selectors import item_buckets_many, item_get, vendor_get
from backroom.core.errors import InvalidState, NotFound
from backroom.core.models import StoreSettings
from backroom.purchasing.locks import lock_purchase_order
from backroom.purchasing.models import (
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseRequest,
    RequestStatus,
)
from backroom.purchasing.services import (
    POLineInput,
    ReceiveLineInput,
    _request_items_lock,
    purchase_order_create,
    purchase_order_line_cancel,
    purchase_order_receive,
    purchase_order_submit,
    reorder_requests_create,
)
from backroom.sales.models import OrderStatus
from backroom.sales.payments import PaymentInput
from backroom.sales.services import LineInput, order_create


def _concrete_values(row) -> list:
    return [(name, getattr(row, name)) for name in
            (field.attname for field in type(row)._meta.concrete_fields)]


def _item(sku: str, vendor: Vendor | None, **values) -> Item:
    return Item.objects.create(sku=sku, description=f"item {sku}", price=Decimal("10.00"),
                               cost=Decimal("4.00"), vendor=vendor, taxable=False, **values)


def _po(owner, vendor: Vendor, *lines: tuple[str, int]) -> PurchaseOrder:
    return purchase_order_create(user=owner, vendor=vendor.code, lines=[
        POLineInput(sku=sku, quantity=quantity) for sku, quantity in lines])


def test_item_get_reads_vendor_with_item(card, vendor):
    with CaptureQueriesContext(connection) as queries:
        item = item_get(card.sku)
        assert item.vendor is not None
        assert item.vendor.code == vendor.code

    assert len(queries.captured_queries) == 1
    assert _concrete_values(item) == _concrete_values(Item.objects.get(pk=card.pk))
    assert _concrete_values(item.vendor) == _concrete_values(vendor)


def test_item_get_without_vendor(db):
    loose = _item("LOOSE", None)

    with CaptureQueriesContext(connection) as queries:
        item = item_get("LOOSE")
        assert item.vendor is None

    assert len(queries.captured_queries) == 1
    assert item.pk == loose.pk


def test_item_get_and_vendor_get_not_found(db):
    with pytest.raises(NotFound) as missing_item:
        item_get("NOPE")
    with pytest.raises(NotFound) as missing_vendor:
        vendor_get("NOPE")

    assert missing_item.value.field == "sku"
    assert "Item 'NOPE' not found" in str(missing_item.value)
    assert missing_vendor.value.field == "vendor"
    assert "Vendor 'NOPE' not found" in str(missing_vendor.value)


def test_lock_purchase_order_reads_vendor(owner, vendor, card):
    po = _po(owner, vendor, ("A", 2))

    with CaptureQueriesContext(connection) as queries:
        locked = lock_purchase_order(po.number)
        assert locked.vendor.code == vendor.code

    assert len(queries.captured_queries) == 1
    assert _concrete_values(locked) == _concrete_values(PurchaseOrder.objects.get(pk=po.pk))
    with pytest.raises(NotFound) as missing:
        lock_purchase_order("PO-0")
    assert missing.value.field == "number"


def test_item_buckets_count_each_source(owner, vendor, customer, card, scarf, store):
    """Requests and PO lines of every status count only in their own bucket."""
    # Open requests: two for stock, and one customer back order of 3 scarves.
    PurchaseRequest.objects.create(item=scarf, vendor=vendor, quantity=4)
    PurchaseRequest.objects.create(item=card, vendor=vendor, quantity=5)
    order_create(user=owner, order_type="sales_order", customer_id=customer.pk,
                 lines=[LineInput(sku="B", quantity=3)],
                 payments=[PaymentInput(amount=Decimal("90.00"), tender="card")])
    # On order: the draft PO takes every open request (3 + 4 scarves, 5 cards) and
    # 2 more cards. A second, submitted PO adds 6 scarves, and a cancelled one nothing.
    draft = purchase_order_create(user=owner, vendor="V", include_purchase_requests=True,
                                  lines=[POLineInput(sku="A", quantity=2)])
    submitted = _po(owner, vendor, ("B", 6))
    purchase_order_submit(user=owner, number=submitted.number)
    cancelled = _po(owner, vendor, ("B", 50))
    PurchaseOrder.objects.filter(pk=cancelled.pk).update(status=POStatus.CANCELLED)
    # A closed-short line counts nothing either.
    closed = _po(owner, vendor, ("A", 30))
    PurchaseOrderLine.objects.filter(purchase_order=closed).update(closed_short=True)
    # A new open request for stock after the PO.
    PurchaseRequest.objects.create(item=scarf, vendor=vendor, quantity=1)
    card.refresh_from_db()
    scarf.refresh_from_db()

    buckets = item_buckets_many([card, scarf])

    assert draft.lines.count() == 2
    assert buckets[scarf.pk].requested_for_customers == 0
    assert buckets[scarf.pk].requested_for_stock == 1
    assert buckets[scarf.pk].requested == 1
    assert buckets[scarf.pk].on_order == 3 + 4 + 6
    assert buckets[scarf.pk].on_order_for_customers == 3
    assert buckets[scarf.pk].on_order_for_stock == 10
    assert buckets[scarf.pk].back_ordered == 3
    assert buckets[card.pk].on_order == 7
    assert buckets[card.pk].on_order_for_customers == 0
    assert buckets[card.pk].requested == 0
    assert buckets[card.pk].back_ordered == 0
    assert buckets[card.pk].available == card.on_hand - card.reserved


def test_reorder_requests_only_short_items(owner, vendor, store):
    short = _item("SHORT", vendor, on_hand=1, reorder_point=3, reorder_quantity=10)
    _item("ENOUGH", vendor, on_hand=9, reorder_point=3, reorder_quantity=10)
    covered = _item("COVERED", vendor, on_hand=0, reorder_point=2, reorder_quantity=1)
    PurchaseRequest.objects.create(item=covered, vendor=vendor, quantity=3)
    deep = _item("DEEP", vendor, on_hand=0, reorder_point=20, reorder_quantity=5)

    created = reorder_requests_create(user=owner, vendor_id=vendor.pk)

    assert [(request.item.sku, request.quantity) for request in created] == [
        ("SHORT", 10), ("DEEP", 21)]
    assert created[0].item == short
    assert created[1].item == deep
    assert set(PurchaseRequest.objects.filter(order_line__isnull=True)
               .values_list("item__sku", "quantity")) == {
        ("SHORT", 10), ("DEEP", 21), ("COVERED", 3)}


def test_submit_without_lines_changes_nothing(owner, vendor, card):
    po = _po(owner, vendor, ("A", 1))
    PurchaseOrderLine.objects.filter(purchase_order=po).update(cancelled=True)

    with pytest.raises(InvalidState, match="has no lines"):
        purchase_order_submit(user=owner, number=po.number)

    po.refresh_from_db()
    assert po.status == POStatus.DRAFT
    assert po.submitted_at is None


def test_receive_sets_po_status_from_lines(owner, vendor, card, scarf, store):
    po = _po(owner, vendor, ("A", 2), ("B", 3))
    purchase_order_submit(user=owner, number=po.number)
    lines = {line.item.sku: line for line in po.lines.select_related("item")}

    purchase_order_receive(user=owner, number=po.number,
                           lines=[ReceiveLineInput(line_id=lines["A"].pk, quantity=2)])
    po.refresh_from_db()
    assert po.status == POStatus.PARTIALLY_RECEIVED

    purchase_order_receive(user=owner, number=po.number, lines=[
        ReceiveLineInput(line_id=lines["B"].pk, quantity=1, close_short=True)])
    po.refresh_from_db()
    assert po.status == POStatus.RECEIVED


def test_cancelling_every_line_cancels_po(owner, vendor, card, scarf):
    po = _po(owner, vendor, ("A", 2), ("B", 3))
    purchase_order_submit(user=owner, number=po.number)
    line_ids = list(po.lines.values_list("pk", flat=True))

    first = purchase_order_line_cancel(user=owner, number=po.number, line_id=line_ids[0])
    assert first.status == POStatus.SUBMITTED
    last = purchase_order_line_cancel(user=owner, number=po.number, line_id=line_ids[1])

    assert last.status == POStatus.CANCELLED
    po.refresh_from_db()
    assert po.status == POStatus.CANCELLED


def test_receive_line_of_another_po(owner, vendor, card, scarf):
    po = _po(owner, vendor, ("A", 2))
    other = _po(owner, vendor, ("B", 2))
    purchase_order_submit(user=owner, number=po.number)
    other_line = other.lines.get()

    with pytest.raises(NotFound) as missing_line:
        purchase_order_receive(user=owner, number=po.number,
                               lines=[ReceiveLineInput(line_id=other_line.pk, quantity=1)])
    with pytest.raises(NotFound) as missing_po:
        purchase_order_receive(user=owner, number="PO-0",
                               lines=[ReceiveLineInput(line_id=other_line.pk, quantity=1)])

    assert missing_line.value.field == "lines[0].id"
    assert f"is not on purchase order {po.number}" in str(missing_line.value)
    assert missing_po.value.field == "number"


def test_receive_without_settings_row_creates_it(owner, vendor, card):
    po = _po(owner, vendor, ("A", 2))
    purchase_order_submit(user=owner, number=po.number)
    StoreSettings.objects.all().delete()

    purchase_order_receive(user=owner, number=po.number,
                           lines=[ReceiveLineInput(line_id=po.lines.get().pk, quantity=2)])

    assert StoreSettings.objects.filter(pk=1).exists()
    assert po.lines.get().received == 2


def test_waiting_requests_leave_out_excluded_lines(waiting_order, scarf, card):
    line = waiting_order.lines.get(item=scarf)
    request = PurchaseRequest.objects.get(order_line=line)

    waiting = _waiting_requests([scarf.pk, card.pk], frozenset())
    excluded = _waiting_requests([scarf.pk, card.pk], frozenset({line.pk}))

    assert waiting_order.status == OrderStatus.WAITING
    assert list(waiting) == [scarf.pk]
    assert waiting[scarf.pk][request.pk].line_id == line.pk
    assert waiting[scarf.pk][request.pk].created_at == request.created_at
    assert waiting[scarf.pk][request.pk].po_line_id is None
    assert excluded == {}
    assert items_waited_for([scarf.pk, card.pk]) == {scarf.pk}
    assert request.status == RequestStatus.OPEN


@pytest.fixture
def requests_of_two_vendors(vendor, card, scarf) -> dict[str, Item]:
    """Open requests of vendor V (one made before its item had a vendor) and of vendor W,
    and items of V that no open request names."""
    other = Vendor.objects.create(code="W", name="Vendor W")
    items = {"loose": _item("LOOSE", vendor), "other": _item("OTHER", other),
             "gone": _item("GONE", vendor), "idle": _item("IDLE", vendor)}
    PurchaseRequest.objects.create(item=scarf, vendor=vendor, quantity=4)
    PurchaseRequest.objects.create(item=items["loose"], vendor=None, quantity=3)
    PurchaseRequest.objects.create(item=items["other"], vendor=other, quantity=6)
    PurchaseRequest.objects.create(item=items["gone"], vendor=vendor, quantity=2,
                                   status=RequestStatus.CANCELLED)
    return items


def test_request_items_lock_with_line_items(vendor, card, scarf, requests_of_two_vendors):
    loose = requests_of_two_vendors["loose"]
    of_vendor = [vendor.pk, vendor.pk]

    with_lines = _request_items_lock(of_vendor, {card.pk, scarf.pk})
    requests_only = _request_items_lock(of_vendor, set())

    assert list(with_lines) == sorted([card.pk, scarf.pk, loose.pk])
    assert with_lines[card.pk].sku == "A"
    assert list(requests_only) == sorted([scarf.pk, loose.pk])


def test_po_with_requests_and_lines(owner, vendor, card, scarf, requests_of_two_vendors):
    po = purchase_order_create(user=owner, vendor="V", include_purchase_requests=True,
                               lines=[POLineInput(sku="A", quantity=2),
                                      POLineInput(sku="B", quantity=1)])

    ordered = dict(po.lines.values_list("item__sku", "quantity"))
    assert ordered == {"A": 2, "B": 5, "LOOSE": 3}
    assert set(PurchaseRequest.objects.filter(po_line__purchase_order=po)
               .values_list("item__sku", "status")) == {
        ("B", RequestStatus.ON_ORDER), ("LOOSE", RequestStatus.ON_ORDER)}
    assert PurchaseRequest.objects.get(item__sku="OTHER").status == RequestStatus.OPEN

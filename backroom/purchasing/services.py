"""Purchase requests, purchase orders and receiving."""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from backroom.accounts.permissions import require
from backroom.allocation.decide import receivable_quantity
from backroom.allocation.services import Offer, stock_offers
from backroom.catalog.locks import lock_items
from backroom.catalog.models import Item
from backroom.catalog.selectors import item_buckets_of, item_get, vendor_get
from backroom.core.audit import AuditLog
from backroom.core.bulk import update_rows, update_values
from backroom.core.errors import (
    InvalidState,
    NotFound,
    OverReceipt,
    ValidationFailed,
    reject_repeated_lines,
)
from backroom.core.inserts import insert_all, insert_numbered, new_instance
from backroom.core.models import StoreSettings
from backroom.core.sql import (
    execute,
    field,
    ids_in,
    ids_select,
    ids_value,
    model_rows,
    value_rows,
    writes_together,
)
from backroom.purchasing.coverage import request_reopen
from backroom.purchasing.locks import lock_purchase_order
from backroom.purchasing.models import (
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseRequest,
    Receipt,
    ReceiptLine,
    RequestStatus,
)
from backroom.sales.models import Order, OrderLine

MAX_PO_QUANTITY = 1_000_000
OPEN_PO_STATUSES = (POStatus.DRAFT, POStatus.SUBMITTED, POStatus.PARTIALLY_RECEIVED)


# ---------------------------------------------------------------- purchase requests


@transaction.atomic
def purchase_request_for_line(*, user, number: str, line_id: int) -> list[PurchaseRequest]:
    """Make sure a line's back-ordered units are covered; return its live requests.

    Every back-ordered unit already has a request, so repeating this never
    makes a second one for the same units.
    """
    from backroom.purchasing.coverage import requests_cover

    order = Order.objects.filter(number=number).first()
    if order is None:
        raise NotFound(f"Order '{number}' not found; check the number.", field="order")
    line = OrderLine.objects.filter(pk=line_id, order=order).first()
    if line is None:
        raise NotFound(f"Line {line_id} is not on order {number}.", field="line")
    item = lock_items([line.item_id])[line.item_id]
    line.refresh_from_db()
    live = PurchaseRequest.objects.filter(
        order_line=line, status__in=[RequestStatus.OPEN, RequestStatus.ON_ORDER])
    covered = live.aggregate(units=Sum("quantity", default=0))["units"]
    if covered < line.back_ordered:
        audit = AuditLog(user)
        requests_cover(order, line, item, line.back_ordered - covered, audit)
        audit.flush()
    return list(live.order_by("id"))


@transaction.atomic
def purchase_request_for_stock(*, user, sku: str, quantity: int) -> PurchaseRequest:
    require(user, "manage_purchasing", "request a purchase for stock")
    if not isinstance(quantity, int) or not 1 <= quantity <= MAX_PO_QUANTITY:
        raise ValidationFailed(f"Quantity {quantity} is invalid; give 1 to {MAX_PO_QUANTITY}.",
                               field="quantity")
    item_id = item_get(sku).pk
    item = lock_items([item_id])[item_id]
    request = PurchaseRequest.objects.create(item=item, vendor_id=item.vendor_id,
                                             quantity=quantity)
    audit = AuditLog(user)
    audit.add("request_created", item=item, request=request.pk, quantity=quantity,
              for_stock=True)
    audit.flush()
    return request


# The items of a vendor that have a reorder point, with what the reorder check
# needs. Parameters: the vendor's id.
REORDER_CANDIDATES = (
    'SELECT "id", "on_hand", "reserved", "reorder_point", "reorder_quantity" '
    'FROM "catalog_item" WHERE "vendor_id" = %s AND "tracked" AND NOT "is_custom" '
    'AND "reorder_point" > 0 ORDER BY "id"')


def reorder_requests_create(*, user, vendor_id: int) -> list[PurchaseRequest]:
    """Request stock for the vendor's items that fell to their reorder point.

    An item is short when available + on order for stock + requested for
    stock is at or below its reorder point. The request brings it to the
    reorder point plus the reorder quantity.
    """
    candidates = value_rows(REORDER_CANDIDATES, [vendor_id], (None,) * 5)
    if not candidates:
        return []
    buckets = item_buckets_of({item_id: (on_hand, reserved)
                               for item_id, on_hand, reserved, _, _ in candidates},
                              with_back_orders=False)
    quantities = {}
    for item_id, _, _, reorder_point, reorder_quantity in candidates:
        bucket = buckets[item_id]
        projected = bucket.available + bucket.on_order_for_stock + bucket.requested_for_stock
        if projected > reorder_point:
            continue
        quantities[item_id] = max(reorder_quantity, reorder_point - projected + 1)
    # Only the items to request are read in full, for the requests returned.
    created = []
    if quantities:
        created = [new_instance(PurchaseRequest, item=item, vendor_id=vendor_id,
                                quantity=quantities[item.pk])
                   for item in model_rows(Item, ids_in('"id"'), [ids_value(quantities)])]
    insert_all(PurchaseRequest, created)
    audit = AuditLog(user)
    for request in created:
        audit.add("request_created", item=request.item, quantity=request.quantity,
                  for_stock=True, reason="reorder point")
    audit.flush()
    return created


@transaction.atomic
def purchase_request_set_vendor(*, user, request_id: int, vendor: str) -> PurchaseRequest:
    """Choose the vendor of an open request, such as a custom piece's maker."""
    require(user, "manage_purchasing", "choose a request's vendor")
    vendor_row = vendor_get(vendor)
    item_id = (PurchaseRequest.objects.filter(pk=request_id)
               .values_list("item_id", flat=True).first())
    if item_id is None:
        raise NotFound(f"Purchase request {request_id} not found; check the id.",
                       field="request")
    lock_items([item_id])
    request = PurchaseRequest.objects.get(pk=request_id)
    if request.status != RequestStatus.OPEN:
        raise InvalidState(
            f"Purchase request {request_id} is {request.get_status_display().lower()}; only an "
            "open request can change vendor.", field="request")
    audit = AuditLog(user)
    audit.add("request_vendor_changed", order=request.order_id, item=item_id,
              request=request.pk, before=request.vendor_id, after=vendor_row.code)
    request.vendor = vendor_row
    request.updated_at = timezone.now()
    request.save(update_fields=["vendor", "updated_at"])
    audit.flush()
    return request


# ---------------------------------------------------------------- purchase orders


@dataclass(frozen=True)
class POLineInput:
    sku: str
    quantity: int
    cost: Decimal | None = None


# Open requests that join a vendor's PO: the vendor's own, and those without a
# vendor whose item the vendor supplies (made before the item had a vendor).
# Parameters: the vendor's id twice.
# Request statuses are written into the statements, not passed as parameters. On
# SQLite, a parameter compared with a column that a partial index's condition
# names makes every run prepare the statement again.
VENDOR_OPEN_REQUESTS = (
    f'"status" = \'{RequestStatus.OPEN.value}\' AND ("vendor_id" = %s OR ("vendor_id" IS NULL '
    'AND "item_id" IN (SELECT "id" FROM "catalog_item" WHERE "vendor_id" = %s)))')
# Items of those requests, as a condition on "catalog_item".
VENDOR_OPEN_REQUEST_ITEMS = (
    f'"id" IN (SELECT "item_id" FROM "purchasing_purchaserequest" WHERE {VENDOR_OPEN_REQUESTS})')


@transaction.atomic
def purchase_order_create(*, user, vendor: str, include_purchase_requests: bool = False,
                          lines: list[POLineInput] | None = None,
                          expected_date: datetime.date | None = None,
                          include_reorder: bool = False) -> PurchaseOrder:
    """Create a draft PO; with `include_purchase_requests` every open request of the
    vendor joins it, one PO line per item."""
    require(user, "manage_purchasing", "create a purchase order")
    vendor_row = vendor_get(vendor)
    lines = lines or []
    wanted = [_po_line_check(spec, f"lines[{index}]") for index, spec in enumerate(lines)]
    if include_reorder:
        reorder_requests_create(user=user, vendor_id=vendor_row.pk)

    of_vendor = [vendor_row.pk, vendor_row.pk]
    line_items = {item.pk for item, _, _ in wanted}
    if include_purchase_requests:
        items = _request_items_lock(of_vendor, line_items)
    else:
        items = lock_items(line_items)
    requests = []
    if include_purchase_requests:
        # A request committed after the items were locked may be for an item that is
        # not locked. It stays open for the vendor's next purchase order.
        requests = [request for request in model_rows(
            PurchaseRequest, VENDOR_OPEN_REQUESTS + ' AND "quantity" > 0', of_vendor)
            if request.item_id in items]

    po = new_instance(
        PurchaseOrder, vendor=vendor_row, expected_date=expected_date,
        created_by=user if user is not None and user.is_authenticated else None)
    insert_numbered(PurchaseOrder, po, "PO-")

    quantities: dict[int, int] = defaultdict(int)
    costs: dict[int, Decimal] = {}
    for request in requests:
        quantities[request.item_id] += request.quantity
    for item, quantity, cost in wanted:
        quantities[item.pk] += quantity
        if cost is not None:
            costs[item.pk] = cost
    po_lines = {
        item_id: new_instance(PurchaseOrderLine, purchase_order=po, item_id=item_id,
                              quantity=quantity, cost=costs.get(item_id, items[item_id].cost))
        for item_id, quantity in sorted(quantities.items())
    }
    insert_all(PurchaseOrderLine, list(po_lines.values()))

    audit = AuditLog(user)
    now = timezone.now()
    for request in requests:
        request.vendor = vendor_row
        request.status = RequestStatus.ON_ORDER
        request.po_line = po_lines[request.item_id]
        request.needs_ordering = False
        request.updated_at = now
        if request.order_id:
            audit.add("request_on_purchase_order", order=request.order_id,
                      item=request.item_id, purchase_order=po, request=request.pk,
                      quantity=request.quantity, number=po.number)
    with writes_together():
        update_rows(PurchaseRequest, requests,
                    ["vendor", "status", "po_line", "needs_ordering", "updated_at"])
        audit.add("purchase_order_created", purchase_order=po, vendor=vendor_row.code,
                  lines=[{"sku": items[item_id].sku, "quantity": line.quantity}
                         for item_id, line in po_lines.items()],
                  requests=len(requests))
        audit.flush()
    return po


def _request_items_lock(of_vendor: list[Any], item_ids: set[int]) -> dict[int, Item]:
    """Lock the items of the vendor's open requests and `item_ids` and return them by id.

    Like `lock_items`, it locks them in primary-key order. It finds the
    requests' items in the same statement instead of reading them first.
    """
    if not item_ids:
        where = VENDOR_OPEN_REQUEST_ITEMS
        params = list(of_vendor)
    else:
        # The requests' items and `item_ids` form one list, because PostgreSQL 15
        # ran "IN (requests) OR id = ANY(ids)" as a filter over every item.
        where = (f'"id" IN (SELECT "item_id" FROM "purchasing_purchaserequest" '
                 f'WHERE {VENDOR_OPEN_REQUESTS} UNION ALL {ids_select()})')
        params = [*of_vendor, ids_value(item_ids)]
    return {item.pk: item for item in model_rows(Item, where, params, lock=True)}


def _po_line_check(spec: POLineInput, field: str) -> tuple[Item, int, Decimal | None]:
    if not isinstance(spec.quantity, int) or not 1 <= spec.quantity <= MAX_PO_QUANTITY:
        raise ValidationFailed(
            f"Quantity {spec.quantity} is invalid; give 1 to {MAX_PO_QUANTITY}.",
            field=f"{field}.quantity")
    if spec.cost is not None and spec.cost < 0:
        raise ValidationFailed(f"Cost {spec.cost} is negative; give 0 or more.",
                               field=f"{field}.cost")
    try:
        item = item_get(spec.sku)
    except NotFound as error:
        error.field = f"{field}.sku"
        raise
    return item, spec.quantity, spec.cost


@transaction.atomic
def purchase_order_add_line(*, user, number: str, line: POLineInput) -> PurchaseOrder:
    """Add units of an item to a draft PO; an item already on it gets a larger line."""
    require(user, "manage_purchasing", "change a purchase order")
    item, quantity, cost = _po_line_check(line, "line")
    lock_items([item.pk])
    po = lock_purchase_order(number)
    _require_draft(po)
    existing = po.lines.filter(item=item, cancelled=False).first()
    if existing:
        existing.quantity += quantity
        if cost is not None:
            existing.cost = cost
        existing.save(update_fields=["quantity", "cost"])
    else:
        PurchaseOrderLine.objects.create(purchase_order=po, item=item, quantity=quantity,
                                         cost=item.cost if cost is None else cost)
    audit = AuditLog(user)
    audit.add("purchase_order_line_added", purchase_order=po, item=item, quantity=quantity)
    audit.flush()
    return po


@transaction.atomic
def purchase_order_line_update(*, user, number: str, line_id: int, quantity: int | None = None,
                               cost: Decimal | None = None) -> PurchaseOrder:
    """Change a draft PO line; below the customers it covers, the newest requests reopen."""
    require(user, "manage_purchasing", "change a purchase order")
    po_line = PurchaseOrderLine.objects.filter(pk=line_id, purchase_order__number=number).first()
    if po_line is None:
        raise NotFound(f"Line {line_id} is not on purchase order {number}.", field="line")
    lock_items([po_line.item_id])
    po = lock_purchase_order(number)
    _require_draft(po)
    po_line.refresh_from_db()
    audit = AuditLog(user)
    if cost is not None:
        if cost < 0:
            raise ValidationFailed(f"Cost {cost} is negative; give 0 or more.", field="cost")
        po_line.cost = cost
    if quantity is not None:
        if not isinstance(quantity, int) or not 0 <= quantity <= MAX_PO_QUANTITY:
            raise ValidationFailed(f"Quantity {quantity} is invalid; give 0 to {MAX_PO_QUANTITY}.",
                                   field="quantity")
        covered = 0
        for request in po_line.requests.filter(status=RequestStatus.ON_ORDER).order_by("id"):
            if covered + request.quantity > quantity:
                request_reopen(request, audit)
            else:
                covered += request.quantity
        audit.add("purchase_order_line_changed", purchase_order=po, item=po_line.item_id,
                  quantity_before=po_line.quantity, quantity_after=quantity)
        po_line.quantity = quantity
    po_line.save(update_fields=["quantity", "cost"])
    audit.flush()
    return po


# Submits the PO if it has a line that is not cancelled and has units, and
# otherwise changes nothing. Parameters: the status, the time, the PO's id twice.
PO_SUBMIT_IF_LINES = """
    UPDATE "purchasing_purchaseorder" SET "status" = %s, "submitted_at" = %s
    WHERE "id" = %s AND EXISTS (
        SELECT 1 FROM "purchasing_purchaseorderline"
        WHERE "purchase_order_id" = %s AND NOT "cancelled" AND "quantity" > 0)
"""


@transaction.atomic
def purchase_order_submit(*, user, number: str) -> PurchaseOrder:
    require(user, "manage_purchasing", "submit a purchase order")
    po = lock_purchase_order(number)
    _require_draft(po, "submitted")
    submitted_at = timezone.now()
    if not execute(PO_SUBMIT_IF_LINES, [
            POStatus.SUBMITTED, connection.ops.adapt_datetimefield_value(submitted_at),
            po.pk, po.pk]):
        raise InvalidState(f"Purchase order {po.number} has no lines; add lines first.")
    po.status = POStatus.SUBMITTED
    po.submitted_at = submitted_at
    audit = AuditLog(user)
    audit.add("purchase_order_submitted", purchase_order=po)
    audit.flush()
    # NOTE: submitting records the PO as sent; the PDF for the vendor and its
    # e-mail are not produced yet.
    return po


@transaction.atomic
def purchase_order_cancel(*, user, number: str, reason: str = "") -> PurchaseOrder:
    """Cancel a PO; the customer requests it covered reopen, flagged "needs ordering"."""
    require(user, "manage_purchasing", "cancel a purchase order")
    po_id = PurchaseOrder.objects.filter(number=number).values_list("pk", flat=True).first()
    if po_id is None:
        raise NotFound(f"Purchase order '{number}' not found; check the number.", field="number")
    lock_items(PurchaseOrderLine.objects.filter(purchase_order_id=po_id)
               .values_list("item_id", flat=True))
    po = lock_purchase_order(number)
    if po.status in (POStatus.RECEIVED, POStatus.CANCELLED):
        raise InvalidState(f"Purchase order {po.number} is {po.get_status_display().lower()}; "
                           "it cannot be cancelled.")
    audit = AuditLog(user)
    for request in PurchaseRequest.objects.filter(
            po_line__purchase_order=po, status=RequestStatus.ON_ORDER).order_by("id"):
        request_reopen(request, audit)
    po.status = POStatus.CANCELLED
    po.cancelled_at = timezone.now()
    po.save(update_fields=["status", "cancelled_at"])
    audit.add("purchase_order_cancelled", purchase_order=po, reason=reason)
    audit.flush()
    return po


@transaction.atomic
def purchase_order_line_cancel(*, user, number: str, line_id: int) -> PurchaseOrder:
    require(user, "manage_purchasing", "cancel a purchase order line")
    po_line = PurchaseOrderLine.objects.filter(pk=line_id, purchase_order__number=number).first()
    if po_line is None:
        raise NotFound(f"Line {line_id} is not on purchase order {number}.", field="line")
    lock_items([po_line.item_id])
    po = lock_purchase_order(number)
    if po.status in (POStatus.RECEIVED, POStatus.CANCELLED):
        raise InvalidState(f"Purchase order {po.number} is {po.get_status_display().lower()}.")
    po_line.refresh_from_db()
    audit = AuditLog(user)
    for request in po_line.requests.filter(status=RequestStatus.ON_ORDER).order_by("id"):
        request_reopen(request, audit)
    po_line.cancelled = True
    po_line.save(update_fields=["cancelled"])
    audit.add("purchase_order_line_cancelled", purchase_order=po, item=po_line.item_id,
              line=po_line.pk)
    _po_status_refresh(po)
    audit.flush()
    return po


# ---------------------------------------------------------------- receiving


@dataclass(frozen=True)
class ReceiveLineInput:
    line_id: int
    quantity: int
    close_short: bool = False


# The PO with this number joined with the items of its lines that have the given
# ids, and the store's over-receipt tolerance (NULL without a settings row). A
# PO with none of these lines gives one row with a NULL item, and a missing PO
# gives no row. Parameters: the line ids, then the number.
PO_LINE_ITEMS = """
    SELECT "purchasing_purchaseorder"."id", "purchasing_purchaseorderline"."item_id",
        (SELECT "over_receipt_tolerance_percent" FROM "core_storesettings" WHERE "id" = 1)
    FROM "purchasing_purchaseorder"
    LEFT OUTER JOIN "purchasing_purchaseorderline"
        ON "purchasing_purchaseorderline"."purchase_order_id" = "purchasing_purchaseorder"."id"
        AND {ids_in}
    WHERE "purchasing_purchaseorder"."number" = %s
"""
_PO_LINE_ITEMS_FIELDS = (None, None, field(StoreSettings, "over_receipt_tolerance_percent"))


@transaction.atomic
def purchase_order_receive(*, user, number: str,
                           lines: list[ReceiveLineInput]) -> Receipt:
    """Receive goods on a submitted PO and share them out to the waiting customers.

    Per PO line, its own requests go first, then customer back orders on no
    PO, then any other waiting back order, each by priority then age. The
    rest stays in stock.
    """
    require(user, "receive", "receive goods")
    if not lines:
        raise ValidationFailed("Give at least one line to receive.", field="lines")
    line_ids = {spec.line_id for spec in lines}
    po_line_items = value_rows(
        PO_LINE_ITEMS.format(ids_in=ids_in('"purchasing_purchaseorderline"."id"')),
        [ids_value(line_ids), number], _PO_LINE_ITEMS_FIELDS)
    if not po_line_items:
        raise NotFound(f"Purchase order '{number}' not found; check the number.", field="number")
    reject_repeated_lines([spec.line_id for spec in lines], "received on it")
    for index, spec in enumerate(lines):
        if not isinstance(spec.quantity, int) or spec.quantity < 0:
            raise ValidationFailed(f"Quantity {spec.quantity} is invalid; give 0 or more.",
                                   field=f"lines[{index}].quantity")
        if spec.quantity == 0 and not spec.close_short:
            raise ValidationFailed(
                f"Line {spec.line_id}: receive 1 or more units, or close it short.",
                field=f"lines[{index}].quantity")

    items = lock_items(item_id for _, item_id, _ in po_line_items if item_id is not None)
    po = lock_purchase_order(number)
    if po.status not in (POStatus.SUBMITTED, POStatus.PARTIALLY_RECEIVED):
        raise InvalidState(
            f"Purchase order {po.number} is {po.get_status_display().lower()}; only a "
            "submitted PO can be received.", status=po.status)
    po_lines = {line.pk: line for line in model_rows(
        PurchaseOrderLine, '"purchase_order_id" = %s AND ' + ids_in('"id"'),
        [po.pk, ids_value(line_ids)])}
    tolerance = po_line_items[0][2]
    if tolerance is None:
        tolerance = StoreSettings.load().over_receipt_tolerance_percent
    for index, spec in enumerate(lines):
        po_line = po_lines.get(spec.line_id)
        if po_line is None:
            raise NotFound(f"Line {spec.line_id} is not on purchase order {po.number}.",
                           field=f"lines[{index}].id")
        if po_line.cancelled or po_line.closed_short:
            state = "cancelled" if po_line.cancelled else "closed short"
            raise InvalidState(f"Line {po_line.pk} is {state}; it takes no more goods.",
                               field=f"lines[{index}].id")
        limit = receivable_quantity(po_line.quantity, po_line.received, tolerance)
        if spec.quantity > limit:
            item = items[po_line.item_id]
            raise OverReceipt(
                f"Line {po_line.pk} ({item.sku}) has {max(po_line.quantity - po_line.received, 0)}"
                f" of {po_line.quantity} still to come; {spec.quantity} is more than the "
                f"{limit} the store's {tolerance}% tolerance allows.",
                field=f"lines[{index}].quantity", line=po_line.pk, ordered=po_line.quantity,
                received=po_line.received, limit=limit)

    with writes_together():
        receipt = new_instance(
            Receipt, purchase_order=po,
            user=user if user is not None and user.is_authenticated else None)
        insert_numbered(Receipt, receipt, "R-")

        audit = AuditLog(user)
        _lines_receive(po, [(po_lines[spec.line_id], spec.quantity) for spec in lines
                            if spec.quantity], items, receipt, audit)
        for spec in lines:
            if spec.close_short:
                _close_short(po, po_lines[spec.line_id], audit)
        insert_all(ReceiptLine, [
            new_instance(ReceiptLine, receipt=receipt, po_line=po_lines[spec.line_id],
                        item=items[po_lines[spec.line_id].item_id], quantity=spec.quantity,
                        closed_short=spec.close_short)
            for spec in lines
        ])
        _po_status_refresh(po)
        audit.add("receipt_created", purchase_order=po, receipt=receipt.number)
        audit.flush()
    return receipt


def _lines_receive(po: PurchaseOrder, arrived: list[tuple[PurchaseOrderLine, int]],
                   items: dict[int, Item], receipt: Receipt, audit: AuditLog) -> None:
    """Count arrived units in, then share them out to the customers waiting for them.

    A PO can have hundreds of lines, most for stock with no customer waiting, so
    the counters are written with one statement per table and all the items
    are offered together (`stock_offers` reads their waiting customers with
    one statement).
    """
    if not arrived:
        return
    for po_line, quantity in arrived:
        item = items[po_line.item_id]
        po_line.received += quantity
        if item.tracked:
            item.on_hand += quantity
        audit.add("goods_received", purchase_order=po, item=item, line=po_line.pk,
                  quantity=quantity, received_after=po_line.received, receipt=receipt.number,
                  on_hand_after=item.on_hand)
    update_rows(PurchaseOrderLine, [po_line for po_line, _ in arrived], ["received"])
    update_rows(Item, [items[po_line.item_id] for po_line, _ in arrived
                       if items[po_line.item_id].tracked], ["on_hand"])

    stock_offers([Offer(items[po_line.item_id], quantity, po_line)
                  for po_line, quantity in arrived],
                 audit, source="receipt", receipt=receipt)
    _stock_requests_settle([po_line for po_line, _ in arrived], audit)


# The on-order requests of PO lines, oldest first. Parameter: the PO line ids.
PO_LINES_REQUESTS_ON_ORDER = f"""
    SELECT "po_line_id", "id", "item_id", "order_line_id", "quantity", "served"
    FROM "purchasing_purchaserequest"
    WHERE {{ids_in}} AND "status" = '{RequestStatus.ON_ORDER.value}'
    ORDER BY "id"
"""


def _stock_requests_settle(po_lines: list[PurchaseOrderLine], audit: AuditLog) -> None:
    """Mark the lines' for-stock requests fulfilled as far as their units have arrived.

    Customer requests on a line were served first; the for-stock requests
    may then cover only what is still to come.
    """
    linked: dict[int, list[tuple[int, int, int | None, int, int]]] = defaultdict(list)
    for po_line_id, request_id, item_id, order_line_id, quantity, served in value_rows(
            PO_LINES_REQUESTS_ON_ORDER.format(ids_in=ids_in('"po_line_id"')),
            [ids_value(po_line.pk for po_line in po_lines)],
            (None,) * 6):
        linked[po_line_id].append((request_id, item_id, order_line_id, quantity, served))
    now = timezone.now()
    changed: dict[int, tuple[int, int, str, datetime.datetime]] = {}
    for po_line in po_lines:
        requests = linked.get(po_line.pk, [])
        excess = sum(quantity for _, _, _, quantity, _ in requests) - po_line.open_quantity
        for request_id, item_id, order_line_id, quantity, served in requests:
            if excess <= 0:
                break
            if order_line_id is not None:
                continue
            arrived = min(excess, quantity)
            excess -= arrived
            quantity -= arrived
            status = RequestStatus.FULFILLED if quantity == 0 else RequestStatus.ON_ORDER
            changed[request_id] = (quantity, served + arrived, status, now)
            audit.add("stock_request_received", item=item_id, request=request_id,
                      quantity=arrived, quantity_after=quantity)
    update_values(PurchaseRequest, ["quantity", "served", "status", "updated_at"], changed)


PO_LINE_REQUESTS_ON_ORDER = f'"po_line_id" = %s AND "status" = \'{RequestStatus.ON_ORDER.value}\''
PO_LINE_CLOSED_SHORT_SET = (
    'UPDATE "purchasing_purchaseorderline" SET "closed_short" = %s WHERE "id" = %s')


def _close_short(po: PurchaseOrder, po_line: PurchaseOrderLine, audit: AuditLog) -> None:
    po_line.closed_short = True
    execute(PO_LINE_CLOSED_SHORT_SET, [True, po_line.pk])
    for request in model_rows(PurchaseRequest, PO_LINE_REQUESTS_ON_ORDER, [po_line.pk]):
        request_reopen(request, audit)
    audit.add("purchase_order_line_closed_short", purchase_order=po, item=po_line.item_id,
              line=po_line.pk, received=po_line.received, ordered=po_line.quantity)


# Sets a PO's status from its lines that are not cancelled. It becomes received
# when each of them is closed short or received in full. Otherwise it becomes
# partially received when any has units received, or cancelled when there are
# no such lines, and else it stays. Parameters: those three statuses, the PO's id.
PO_STATUS_REFRESH = """
    UPDATE "purchasing_purchaseorder" SET "status" = (
        SELECT CASE
            WHEN COUNT(*) > 0 AND COUNT(*) = SUM(
                CASE WHEN "closed_short" OR "received" >= "quantity" THEN 1 ELSE 0 END) THEN %s
            WHEN SUM(CASE WHEN "received" <> 0 THEN 1 ELSE 0 END) > 0 THEN %s
            WHEN COUNT(*) = 0 THEN %s
            ELSE "purchasing_purchaseorder"."status" END
        FROM "purchasing_purchaseorderline"
        WHERE "purchase_order_id" = "purchasing_purchaseorder"."id" AND NOT "cancelled")
    WHERE "id" = %s
    RETURNING "status"
"""


def _po_status_refresh(po: PurchaseOrder) -> None:
    """Set the status of a submitted PO from its lines, in the row and in `po`."""
    if po.status in (POStatus.DRAFT, POStatus.CANCELLED):
        return
    rows = value_rows(PO_STATUS_REFRESH, [
        POStatus.RECEIVED, POStatus.PARTIALLY_RECEIVED, POStatus.CANCELLED, po.pk], (None,))
    po.status = rows[0][0]


def _require_draft(po: PurchaseOrder, action: str = "edited") -> None:
    """Raise InvalidState unless the PO is a draft; `action` completes "only a draft can
    be …"."""
    if po.status != POStatus.DRAFT:
        raise InvalidState(
            f"Purchase order {po.number} is {po.get_status_display().lower()}; only a draft "
            f"can be {action}.", status=po.status)


"""Keeping a line's back-ordered units covered by purchase requests.

The caller holds the lock of the line's item. After every call the line's
open and on-order customer requests add up to its `back_ordered` units.
"""

from django.db import connection
from django.utils import timezone

from backroom.catalog.models import Item
from backroom.core.audit import AuditLog
from backroom.core.sql import execute, value_rows
from backroom.purchasing.models import (
    POStatus,
    PurchaseRequest,
    RequestStatus,
)
from backroom.sales.models import Order, OrderLine


def requests_cover(order: Order, line: OrderLine, item: Item, units: int,
                   audit: AuditLog) -> PurchaseRequest | None:
    """Cover `units` newly back-ordered units of a line.

    An open request of the line grows; else one on a draft PO grows with its
    PO line; else a new open request is made. Never a second request for
    the same units.
    """
    if units <= 0:
        return None
    now = timezone.now()
    active = list(
        PurchaseRequest.objects.filter(
            order_line=line, status__in=[RequestStatus.OPEN, RequestStatus.ON_ORDER])
        .select_related("po_line__purchase_order").order_by("-id")
    )
    for request in active:
        if request.status == RequestStatus.OPEN:
            request.quantity += units
            request.updated_at = now
            request.save(update_fields=["quantity", "updated_at"])
            audit.add("request_increased", order=order, item=item, request=request.pk,
                      line=line.pk, quantity=units, quantity_after=request.quantity)
            return request
    for request in active:
        po_line = request.po_line
        if po_line is not None and po_line.purchase_order.status == POStatus.DRAFT:
            request.quantity += units
            request.updated_at = now
            request.save(update_fields=["quantity", "updated_at"])
            po_line.quantity += units
            po_line.save(update_fields=["quantity"])
            audit.add("request_increased", order=order, item=item, request=request.pk,
                      line=line.pk, quantity=units, quantity_after=request.quantity,
                      purchase_order=po_line.purchase_order_id,
                      po_number=po_line.purchase_order.number)
            return request

    request = PurchaseRequest.objects.create(
        item=item, vendor_id=item.vendor_id, quantity=units, order_line=line, order=order,
        customer_id=order.customer_id, created_at=now, updated_at=now)
    audit.add("request_created", order=order, item=item, request=request.pk, line=line.pk,
              sku=item.sku, quantity=units, vendor=item.vendor.code if item.vendor else None)
    return request


# A line's live requests with their PO line and PO, in the order `requests_uncover`
# releases them: open first, then on draft POs, then on submitted ones, newest first.
_LINE_REQUESTS_TO_RELEASE = (
    'SELECT "request"."id", "request"."status", "request"."quantity", "po_line"."id", '
    '"po_line"."quantity", '
    '"po"."id", "po"."number", "po"."status" '
    'FROM "purchasing_purchaserequest" AS "request" '
    'LEFT JOIN "purchasing_purchaseorderline" AS "po_line" '
    'ON "po_line"."id" = "request"."po_line_id" '
    'LEFT JOIN "purchasing_purchaseorder" AS "po" ON "po"."id" = "po_line"."purchase_order_id" '
    'WHERE "request"."order_line_id" = %s AND "request"."status" IN (%s, %s) '
    'AND "request"."quantity" > 0 '
    'ORDER BY CASE WHEN "request"."status" = %s THEN 0 WHEN "po"."status" = %s THEN 1 '
    'ELSE 2 END, "request"."id" DESC')
_REQUEST_REDUCE = ('UPDATE "purchasing_purchaserequest" SET "quantity" = %s, "status" = %s, '
                   '"updated_at" = %s WHERE "id" = %s')
_PO_LINE_QUANTITY_SET = 'UPDATE "purchasing_purchaseorderline" SET "quantity" = %s WHERE "id" = %s'


def requests_uncover(order: Order, line: OrderLine, item: Item, units: int,
                     audit: AuditLog) -> None:
    """Release `units` of a line's requests that are no longer needed.

    Open requests go first, then those on draft POs (whose PO line shrinks
    too), then those on submitted POs (unlinked, so the incoming units go to
    stock). Newest first within each group.
    """
    if units <= 0:
        return
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    requests = value_rows(_LINE_REQUESTS_TO_RELEASE, [
        line.pk, RequestStatus.OPEN, RequestStatus.ON_ORDER, RequestStatus.OPEN,
        POStatus.DRAFT])
    left = units
    for (request_id, status, quantity, po_line_id, po_line_quantity, po_id, po_number,
         po_status) in requests:
        if left == 0:
            break
        taken = min(left, quantity)
        left -= taken
        quantity -= taken
        if po_line_id is not None and po_status == POStatus.DRAFT:
            execute(_PO_LINE_QUANTITY_SET, [max(po_line_quantity - taken, 0), po_line_id])
        if quantity == 0:
            status = RequestStatus.CANCELLED
        execute(_REQUEST_REDUCE, [quantity, status, now, request_id])
        audit.add("request_reduced", order=order, item=item, request=request_id, line=line.pk,
                  quantity=taken, quantity_after=quantity, purchase_order=po_id,
                  po_number=po_number)


def request_reopen(request: PurchaseRequest, audit: AuditLog) -> None:
    """Take a request off its PO line and flag it "needs ordering".

    When its line already has an open request, the units join that one, so
    a line never has two open requests.
    """
    now = timezone.now()
    existing = None
    if request.order_line_id is not None:
        existing = (PurchaseRequest.objects
                    .filter(order_line_id=request.order_line_id, status=RequestStatus.OPEN)
                    .exclude(pk=request.pk).first())
    if existing is not None:
        existing.quantity += request.quantity
        existing.needs_ordering = True
        existing.updated_at = now
        existing.save(update_fields=["quantity", "needs_ordering", "updated_at"])
        request.quantity = 0
        request.status = RequestStatus.CANCELLED
        request.updated_at = now
        request.save(update_fields=["quantity", "status", "updated_at"])
        return
    request.status = RequestStatus.OPEN
    request.po_line = None
    request.needs_ordering = True
    request.updated_at = now
    request.save(update_fields=["status", "po_line", "needs_ordering", "updated_at"])
    if request.order_id:
        audit.add("request_needs_ordering", order=request.order_id, item=request.item_id,
                  request=request.pk,
                  quantity=request.quantity)

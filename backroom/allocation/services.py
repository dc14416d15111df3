"""Serving waiting back orders with units that arrive or become free.

The caller holds the item's lock. Served units move from `back_ordered` to
`ready` on their lines, are reserved on the item, shrink the purchase
requests that covered them and produce receiving notices.
"""

import logging
from dataclasses import dataclass, field
from typing import cast

from django.utils import timezone

from backroom.allocation.decide import (
    TIER_NOT_ON_PO,
    TIER_OTHER,
    TIER_THIS_PO_LINE,
    Claim,
    allocate,
)
from backroom.catalog.models import Item
from backroom.core.audit import AuditLog
from backroom.core.bulk import update_grouped
from backroom.purchasing.models import (
    POStatus,
    PurchaseOrderLine,
    PurchaseRequest,
    Receipt,
    ReceivingNotice,
    RequestStatus,
)
from backroom.sales.locks import lock_orders
from backroom.sales.models import Order, OrderLine, OrderStatus
from backroom.sales.totals import order_sync

logger = logging.getLogger(__name__)


@dataclass
class OfferResult:
    served: int = 0
    leftover: int = 0
    notices: list[ReceivingNotice] = field(default_factory=list)


def stock_offer(item: Item, units: int, audit: AuditLog, *, source: str,
                receipt: Receipt | None = None, po_line: PurchaseOrderLine | None = None,
                exclude_line_ids: frozenset[int] = frozenset()) -> OfferResult:
    """Give `units` newly free units of a locked item to the customers waiting for them.

    With `po_line`, the requests on that PO line go first (a receipt). What
    no waiting customer needs stays available. `source` names the cause for
    the notices and the timeline ("receipt", "adjustment", "return", ...).
    """
    if units <= 0:
        return OfferResult(leftover=max(units, 0))

    waiting = _waiting_requests(item, exclude_line_ids)
    claims = [
        Claim(request_id=request.pk, quantity=request.quantity,
              tier=_tier(request, po_line), priority=order.priority,
              created_at=request.created_at)
        for request, order in waiting
    ]
    allocations, leftover = allocate(units, claims, max_tier=TIER_OTHER)
    if not allocations:
        return OfferResult(leftover=leftover)

    by_id = {request.pk: (request, order) for request, order in waiting}
    chosen = [(*by_id[allocation.request_id], allocation.quantity)
              for allocation in allocations]
    orders = lock_orders({order.pk for _, order, _ in chosen})
    lines = {line.pk: line for line in OrderLine.objects.filter(
        pk__in=[_line_id(request) for request, _, _ in chosen])}

    result = OfferResult(leftover=leftover)
    now = timezone.now()
    changed_po_lines: dict[int, PurchaseOrderLine] = {}
    for request, order, quantity in chosen:
        line = lines[_line_id(request)]
        if line.back_ordered < quantity:
            # The request covers more than the line waits for: a broken invariant.
            logger.error("request %s covers %s units but line %s has %s back-ordered",
                         request.pk, request.quantity, line.pk, line.back_ordered)
            quantity = line.back_ordered
        line.back_ordered -= quantity
        line.ready += quantity
        result.served += quantity

        _request_serve(request, quantity, from_receipt=po_line is not None,
                       receiving_line=po_line, changed_po_lines=changed_po_lines, now=now)
        audit.add("units_reserved", order=order.pk, item=item,
                  line=line.pk, sku=item.sku, quantity=quantity, source=source,
                  request=request.pk, receipt=receipt.number if receipt else None,
                  back_ordered_after=line.back_ordered, ready_after=line.ready)
        result.notices.append(ReceivingNotice(
            receipt=receipt, source=source, order_id=order.pk, order_line=line,
            customer_id=order.customer_id, item=item, quantity=quantity, order_status=""))

    if item.tracked:
        item.reserved += result.served
        Item.objects.filter(pk=item.pk).update(reserved=item.reserved)
    update_grouped(OrderLine, list(lines.values()), ["back_ordered", "ready"])
    update_grouped(PurchaseRequest, [request for request, _, _ in chosen],
                   ["quantity", "served", "status", "updated_at"])
    if changed_po_lines:
        PurchaseOrderLine.objects.bulk_update(list(changed_po_lines.values()), ["quantity"])

    became_ready = order_sync(orders.values())
    for notice in result.notices:
        notice.order_status = orders[notice.order_id].status
    ReceivingNotice.objects.bulk_create(result.notices, batch_size=500)
    for order in became_ready:
        audit.add("order_ready", order=order)
    return result


def _waiting_requests(item: Item, exclude_line_ids: frozenset[int]
                      ) -> list[tuple[PurchaseRequest, Order]]:
    """Return the live customer requests of an item whose orders wait, with those orders."""
    requests = (
        PurchaseRequest.objects
        .filter(item=item, status__in=[RequestStatus.OPEN, RequestStatus.ON_ORDER],
                order_line__isnull=False, quantity__gt=0)
        .exclude(order_line_id__in=exclude_line_ids)
        .select_related("order", "po_line__purchase_order")
    )
    return [(request, request.order) for request in requests
            if request.order is not None and request.order.status == OrderStatus.WAITING]


def _line_id(request: PurchaseRequest) -> int:
    return cast(int, request.order_line_id)


def _tier(request: PurchaseRequest, po_line: PurchaseOrderLine | None) -> int:
    if po_line is not None and request.po_line_id == po_line.pk:
        return TIER_THIS_PO_LINE
    if request.status == RequestStatus.OPEN:
        return TIER_NOT_ON_PO
    return TIER_OTHER


def _request_serve(request: PurchaseRequest, quantity: int, *, from_receipt: bool,
                   receiving_line: PurchaseOrderLine | None,
                   changed_po_lines: dict[int, PurchaseOrderLine], now) -> None:
    """Shrink a request by the units a line just got.

    A request on another draft PO also shrinks that PO line. A request on a
    submitted PO leaves its PO line as it is, so those units go to stock.
    """
    own_po_line = request.po_line
    on_other_po = own_po_line is not None and own_po_line.pk != getattr(
        receiving_line, "pk", None)
    if own_po_line is not None and on_other_po and (
            own_po_line.purchase_order.status == POStatus.DRAFT):
        po_line = changed_po_lines.setdefault(own_po_line.pk, own_po_line)
        po_line.quantity = max(po_line.quantity - quantity, 0)

    request.quantity -= quantity
    request.served += quantity
    request.updated_at = now
    if request.quantity == 0:
        request.status = RequestStatus.FULFILLED if from_receipt else RequestStatus.CANCELLED

"""Serving waiting back orders with units that arrive or become free.

The caller holds the item's lock. Served units move from `back_ordered` to
`ready` on their lines, are reserved on the item, shrink the purchase
requests that covered them and produce receiving notices.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db.models import Q
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
from backroom.core.bulk import ids_in, insert_rows, update_values
from backroom.purchasing.models import (
    POStatus,
    PurchaseOrderLine,
    PurchaseRequest,
    Receipt,
    ReceivingNotice,
    RequestStatus,
)
from backroom.sales.models import Order, OrderLine, OrderStatus
from backroom.sales.totals import Buckets, order_sync

logger = logging.getLogger(__name__)


@dataclass
class OfferResult:
    served: int = 0
    leftover: int = 0


class _Waiting(NamedTuple):
    """A live customer request of the item whose order waits, as read for the offer."""

    request_id: int
    quantity: int
    served: int
    status: str
    line_id: int
    order_id: int
    customer_id: int
    priority: int
    created_at: datetime
    po_line_id: int | None
    po_line_quantity: int | None
    po_status: str | None


NOTICE_FIELDS = ("receipt", "source", "order", "order_line", "customer", "item", "quantity",
                 "order_status", "created_at")


@dataclass(frozen=True)
class Offer:
    """Units of one locked item offered to its waiting customers.

    With `po_line`, the requests on that PO line go first (a receipt).
    """

    item: Item
    units: int
    po_line: PurchaseOrderLine | None = None


def stock_offer(item: Item, units: int, audit: AuditLog, *, source: str,
                receipt: Receipt | None = None, po_line: PurchaseOrderLine | None = None,
                exclude_line_ids: frozenset[int] = frozenset()) -> OfferResult:
    """Give `units` newly free units of a locked item to the customers waiting for them.

    `stock_offers` describes the arguments; this is its single-item form.
    """
    return stock_offers([Offer(item, units, po_line)], audit, source=source, receipt=receipt,
                        exclude_line_ids=exclude_line_ids)[0]


def stock_offers(offers: list[Offer], audit: AuditLog, *, source: str,
                 receipt: Receipt | None = None,
                 exclude_line_ids: frozenset[int] = frozenset()) -> list[OfferResult]:
    """Give newly free units of locked items to the customers waiting for them.

    Per item, the requests on the offer's PO line go first, then requests on
    no PO, then the others, each by priority then age. What no waiting
    customer needs stays available. `source` names the cause for the
    notices and the timeline ("receipt", "adjustment", "return", ...).
    Returns one result per offer, in order.

    Rows are read as plain values and written with a few set-based
    statements for all the offers together, because a receipt of a hundred
    lines can serve a thousand customers. Offers of the same item are served
    one after the other, each seeing what the one before it left waiting.
    """
    results: list[OfferResult] = [OfferResult() for _ in offers]
    pending = list(enumerate(offers))
    while pending:
        batch: list[tuple[int, Offer]] = []
        later: list[tuple[int, Offer]] = []
        item_ids: set[int] = set()
        for index, offer in pending:
            (later if offer.item.pk in item_ids else batch).append((index, offer))
            item_ids.add(offer.item.pk)
        served = _offers_serve([offer for _, offer in batch], audit, source=source,
                               receipt=receipt, exclude_line_ids=exclude_line_ids)
        for (index, _), result in zip(batch, served, strict=True):
            results[index] = result
        pending = later
    return results


def _offers_serve(offers: list[Offer], audit: AuditLog, *, source: str,
                  receipt: Receipt | None,
                  exclude_line_ids: frozenset[int]) -> list[OfferResult]:
    """Serve offers of distinct items, as `stock_offers` describes."""
    results = [OfferResult(leftover=max(offer.units, 0)) for offer in offers]
    positive = [(index, offer) for index, offer in enumerate(offers) if offer.units > 0]
    if not positive:
        return results

    waiting = _waiting_requests([offer.item.pk for _, offer in positive],
                                exclude_line_ids)
    chosen: list[tuple[int, _Waiting, int]] = []
    for index, offer in positive:
        item_waiting = waiting.get(offer.item.pk, {})
        claims = [
            Claim(request_id=request.request_id, quantity=request.quantity,
                  tier=_tier(request, offer.po_line), priority=request.priority,
                  created_at=request.created_at)
            for request in item_waiting.values()
        ]
        allocations, results[index].leftover = allocate(offer.units, claims,
                                                        max_tier=TIER_OTHER)
        chosen.extend((index, item_waiting[allocation.request_id], allocation.quantity)
                      for allocation in allocations)
    if not chosen:
        return results

    orders = _orders_lock({request.order_id for _, request, _ in chosen})
    lines = _lines_units(orders, {request.line_id for _, request, _ in chosen})

    now = timezone.now()
    requests_after: dict[int, tuple[int, int, str, datetime]] = {}
    po_lines_after: dict[int, tuple[int]] = {}
    served_line_ids: dict[int, None] = {}
    notices = []
    for index, request, quantity in chosen:
        offer = offers[index]
        line = lines[request.line_id]
        if line.back_ordered < quantity:
            # The request covers more than the line waits for: a broken invariant.
            logger.error("request %s covers %s units but line %s has %s back-ordered",
                         request.request_id, request.quantity, request.line_id,
                         line.back_ordered)
            quantity = line.back_ordered
        line.back_ordered -= quantity
        line.ready += quantity
        served_line_ids[request.line_id] = None
        results[index].served += quantity

        receiving_line_id = offer.po_line.pk if offer.po_line is not None else None
        requests_after[request.request_id] = _request_serve(
            request, quantity, from_receipt=offer.po_line is not None,
            receiving_line_id=receiving_line_id, po_lines_after=po_lines_after, now=now)
        audit.add("units_reserved", order=request.order_id, item=offer.item,
                  line=request.line_id, sku=offer.item.sku, quantity=quantity, source=source,
                  request=request.request_id, receipt=receipt.number if receipt else None,
                  back_ordered_after=line.back_ordered, ready_after=line.ready)
        notices.append((offer.item.pk, request, quantity))

    reserved_after = {}
    for index, offer in positive:
        if offer.item.tracked and results[index].served:
            offer.item.reserved += results[index].served
            reserved_after[offer.item.pk] = (offer.item.reserved,)
    update_values(Item, ["reserved"], reserved_after)
    update_values(OrderLine, ["back_ordered", "ready"], {
        line_id: (lines[line_id].back_ordered, lines[line_id].ready)
        for line_id in served_line_ids})
    update_values(PurchaseRequest, ["quantity", "served", "status", "updated_at"],
                  requests_after)
    update_values(PurchaseOrderLine, ["quantity"], po_lines_after)

    buckets: dict[int, list[Buckets]] = defaultdict(list)
    for line in lines.values():
        buckets[line.order_id].append(Buckets(line.back_ordered, line.ready))
    became_ready = order_sync(orders.values(), buckets=buckets)
    receipt_id = receipt.pk if receipt is not None else None
    insert_rows(ReceivingNotice, NOTICE_FIELDS, [
        (receipt_id, source, request.order_id, request.line_id, request.customer_id, item_id,
         quantity, orders[request.order_id].status, now)
        for item_id, request, quantity in notices])
    for order in became_ready:
        audit.add("order_ready", order=order)
    return results


def items_waited_for(item_ids: Iterable[int]) -> set[int]:
    """Return the ids among `item_ids` of items that customers wait for.

    Callers that free units of many items at once offer them only to these,
    because `stock_offer` costs several queries even when no customer waits.
    """
    return set(PurchaseRequest.objects.filter(
        item_id__in=set(item_ids), status__in=[RequestStatus.OPEN, RequestStatus.ON_ORDER],
        order_line__isnull=False, quantity__gt=0).values_list("item_id", flat=True))


def _waiting_requests(item_ids: list[int], exclude_line_ids: frozenset[int]
                      ) -> dict[int, dict[int, _Waiting]]:
    """Return the live customer requests of these items whose orders wait, by item and id."""
    rows = (
        PurchaseRequest.objects
        .filter(ids_in("item_id", item_ids),
                status__in=[RequestStatus.OPEN, RequestStatus.ON_ORDER],
                order_line__isnull=False, quantity__gt=0, order__status=OrderStatus.WAITING)
        .exclude(order_line_id__in=exclude_line_ids)
        .values_list("item_id", "pk", "quantity", "served", "status", "order_line_id",
                     "order_id", "order__customer_id", "order__priority", "created_at",
                     "po_line_id", "po_line__quantity", "po_line__purchase_order__status")
    )
    waiting: dict[int, dict[int, _Waiting]] = defaultdict(dict)
    for row in rows:
        waiting[row[0]][row[1]] = _Waiting._make(row[1:])
    return waiting


def _orders_lock(order_ids: set[int]) -> dict[int, Order]:
    """Lock the orders in primary-key order, reading only the fields their status sync needs."""
    orders = (Order.objects.select_for_update().filter(ids_in("pk", order_ids))
              .order_by("pk")
              .only("status", "customer_id", "finalized_at", "voided_at", "notified_at"))
    return {order.pk: order for order in orders}


@dataclass(slots=True)
class _LineUnits:
    order_id: int
    back_ordered: int
    ready: int


def _lines_units(orders: dict[int, Order], line_ids: set[int]) -> dict[int, _LineUnits]:
    """Read the lines about to be served and every other back-ordered line of their orders.

    Together they decide whether each order still waits afterwards.
    """
    rows = (OrderLine.objects
            .filter(Q(ids_in("pk", line_ids))
                    | Q(ids_in("order_id", orders), back_ordered__gt=0))
            .order_by()
            .values_list("pk", "order_id", "back_ordered", "ready"))
    return {line_id: _LineUnits(order_id, back_ordered, ready)
            for line_id, order_id, back_ordered, ready in rows}


def _tier(request: _Waiting, po_line: PurchaseOrderLine | None) -> int:
    if po_line is not None and request.po_line_id == po_line.pk:
        return TIER_THIS_PO_LINE
    if request.status == RequestStatus.OPEN:
        return TIER_NOT_ON_PO
    return TIER_OTHER


def _request_serve(request: _Waiting, quantity: int, *, from_receipt: bool,
                   receiving_line_id: int | None, po_lines_after: dict[int, tuple[int]],
                   now: datetime) -> tuple[int, int, str, datetime]:
    """Return the request's quantity, served, status and updated_at after serving `quantity`.

    A request on another draft PO also shrinks that PO line, in
    `po_lines_after`. A request on a submitted PO leaves its PO line as it
    is, so those units go to stock.
    """
    if (request.po_line_id is not None and request.po_line_id != receiving_line_id
            and request.po_status == POStatus.DRAFT):
        (before,) = po_lines_after.get(request.po_line_id, (request.po_line_quantity or 0,))
        po_lines_after[request.po_line_id] = (max(before - quantity, 0),)

    left = request.quantity - quantity
    status = request.status
    if left == 0:
        status = RequestStatus.FULFILLED if from_receipt else RequestStatus.CANCELLED
    return left, request.served + quantity, status, now

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

from django.db import connection
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
from backroom.core.bulk import insert_rows, update_values
from backroom.core.sql import field, ids_in, ids_value, value_rows
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


# The items among the given ones that have live customer requests. Parameters:
# the item ids, then the open and on-order statuses.
ITEMS_WAITED_FOR = """
    SELECT DISTINCT "item_id" FROM "purchasing_purchaserequest"
    WHERE {ids_in} AND "status" IN (%s, %s) AND "order_line_id" IS NOT NULL AND "quantity" > 0
"""


def items_waited_for(item_ids: Iterable[int]) -> set[int]:
    """Return the ids among `item_ids` of items that customers wait for.

    An offer of an item that no customer waits for serves no one, and costs
    `stock_offers` only its read of the waiting requests.
    """
    return {item_id for item_id, in value_rows(
        ITEMS_WAITED_FOR.format(ids_in=ids_in('"item_id"')),
        [ids_value(set(item_ids)), RequestStatus.OPEN, RequestStatus.ON_ORDER], (None,))}


# The live customer requests of the given items whose orders wait: the item id,
# then one column per field of _Waiting. Parameters: the item ids, the open and
# on-order statuses, the waiting status, and the order line ids to leave out
# when {excluded} is filled in.
WAITING_REQUESTS = """
    SELECT "purchasing_purchaserequest"."item_id", "purchasing_purchaserequest"."id",
        "purchasing_purchaserequest"."quantity", "purchasing_purchaserequest"."served",
        "purchasing_purchaserequest"."status", "purchasing_purchaserequest"."order_line_id",
        "purchasing_purchaserequest"."order_id", "sales_order"."customer_id",
        "sales_order"."priority", "purchasing_purchaserequest"."created_at",
        "purchasing_purchaserequest"."po_line_id", "purchasing_purchaseorderline"."quantity",
        "purchasing_purchaseorder"."status"
    FROM "purchasing_purchaserequest"
    INNER JOIN "sales_order" ON "sales_order"."id" = "purchasing_purchaserequest"."order_id"
    LEFT OUTER JOIN "purchasing_purchaseorderline"
        ON "purchasing_purchaseorderline"."id" = "purchasing_purchaserequest"."po_line_id"
    LEFT OUTER JOIN "purchasing_purchaseorder"
        ON "purchasing_purchaseorder"."id" = "purchasing_purchaseorderline"."purchase_order_id"
    WHERE {ids_in} AND "purchasing_purchaserequest"."status" IN (%s, %s)
        AND "purchasing_purchaserequest"."order_line_id" IS NOT NULL
        AND "purchasing_purchaserequest"."quantity" > 0 AND "sales_order"."status" = %s
        {excluded}
"""
EXCLUDED_LINE = '"purchasing_purchaserequest"."order_line_id"'
_WAITING_FIELDS = (None,) * 9 + (field(PurchaseRequest, "created_at"),) + (None,) * 3


def _waiting_requests(item_ids: list[int], exclude_line_ids: frozenset[int]
                      ) -> dict[int, dict[int, _Waiting]]:
    """Return the live customer requests of these items whose orders wait, by item and id."""
    params: list[object] = [ids_value(item_ids), RequestStatus.OPEN, RequestStatus.ON_ORDER,
                            OrderStatus.WAITING]
    excluded = ""
    if exclude_line_ids:
        excluded = f"AND NOT ({ids_in(EXCLUDED_LINE)})"
        params.append(ids_value(exclude_line_ids))
    sql = WAITING_REQUESTS.format(
        ids_in=ids_in('"purchasing_purchaserequest"."item_id"'), excluded=excluded)
    waiting: dict[int, dict[int, _Waiting]] = defaultdict(dict)
    for row in value_rows(sql, params, _WAITING_FIELDS):
        waiting[row[0]][row[1]] = _Waiting._make(row[1:])
    return waiting


# The fields of the orders an offer serves that their status sync needs, in the
# order of the model's fields.
_ORDER_ATTNAMES = [order_field.attname for order_field in Order._meta.concrete_fields
                   if order_field.attname in ("id", "status", "customer_id", "finalized_at",
                                              "voided_at", "notified_at")]
_ORDER_FIELDS = tuple(order_field for order_field in Order._meta.concrete_fields
                      if order_field.attname in _ORDER_ATTNAMES)
ORDERS_BY_ID = ("SELECT " + ", ".join(f'"{order_field.column}"' for order_field in _ORDER_FIELDS)
                + ' FROM "sales_order" WHERE {ids_in} ORDER BY "id"')


def _orders_lock(order_ids: set[int]) -> dict[int, Order]:
    """Lock the orders in primary-key order, reading only the fields their status sync needs."""
    sql = ORDERS_BY_ID.format(ids_in=ids_in('"id"'))
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    alias = connection.alias
    orders = [Order.from_db(alias, _ORDER_ATTNAMES, row)
              for row in value_rows(sql, [ids_value(order_ids)], _ORDER_FIELDS)]
    return {order.pk: order for order in orders}


@dataclass(slots=True)
class _LineUnits:
    order_id: int
    back_ordered: int
    ready: int


# Order lines by id, and the back-ordered lines of orders. Parameters: the line
# ids, the order ids.
LINES_UNITS = """
    SELECT "id", "order_id", "back_ordered", "ready" FROM "sales_orderline"
    WHERE {lines_in} OR ({orders_in} AND "back_ordered" > 0)
"""


def _lines_units(orders: dict[int, Order], line_ids: set[int]) -> dict[int, _LineUnits]:
    """Read the lines about to be served and every other back-ordered line of their orders.

    Together they decide whether each order still waits afterwards.
    """
    rows = value_rows(LINES_UNITS.format(lines_in=ids_in('"id"'), orders_in=ids_in('"order_id"')),
                      [ids_value(line_ids), ids_value(orders)], (None,) * 4)
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

"""Reads for the counter screens: order pages, status lists, purchasing and receiving.

Lists return querysets, so the views paginate them in the database.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from backroom.catalog.models import Item
from backroom.core.errors import NotFound
from backroom.core.models import Event
from backroom.core.money import ZERO
from backroom.customers.models import Customer
from backroom.purchasing.models import (
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseRequest,
    ReceivingNotice,
    RequestStatus,
)
from backroom.sales.models import Order, OrderLine, OrderStatus
from backroom.sales.totals import delivered_value
from backroom.web.forms import id_value

# The order status lists: key, title, statuses shown.
STATUS_LISTS = [
    ("waiting", "Waiting orders", [OrderStatus.WAITING]),
    ("ready", "Ready orders", [OrderStatus.READY]),
    ("delivered", "Delivered orders", [OrderStatus.DELIVERED]),
    ("pending", "All pending", [OrderStatus.WAITING, OrderStatus.READY]),
    ("on_hold", "On hold", [OrderStatus.ON_HOLD]),
    ("voided", "Voided", [OrderStatus.CANCELLED]),
]
ORDER_SORTS = {
    "number": "id", "-number": "-id", "customer": "customer__name",
    "-customer": "-customer__name", "total": "total", "-total": "-total",
    "balance": "balance_due", "-balance": "-balance_due", "age": "id", "-age": "-id",
}
LINE_SORTS = {
    "number": "order_id", "-number": "-order_id", "customer": "order__customer__name",
    "-customer": "-order__customer__name", "sku": "item__sku", "-sku": "-item__sku",
    "age": "order_id", "-age": "-order_id",
}


@dataclass(frozen=True)
class ListFilter:
    status: str = "waiting"
    customer: str = ""
    item: str = ""
    vendor: str = ""
    older_than_days: int | None = None
    sort: str = ""
    order_type: str = ""


def status_list_statuses(key: str) -> list[str]:
    for list_key, _, statuses in STATUS_LISTS:
        if list_key == key:
            return list(statuses)
    raise NotFound(f"Unknown order list '{key}'.", field="status")


def orders_list(filters: ListFilter) -> QuerySet[Order]:
    """Orders of one status list, filtered; back-ordered orders first unless sorted."""
    orders = (Order.objects.select_related("customer")
              .filter(status__in=status_list_statuses(filters.status))
              .annotate(balance_due=F("total") - F("paid")))
    if filters.customer:
        orders = orders.filter(customer_id__in=_customer_ids(filters.customer))
    if filters.item:
        orders = orders.filter(pk__in=OrderLine.objects.filter(
            item_id__in=_item_ids(filters.item)).values("order_id"))
    if filters.vendor:
        orders = orders.filter(pk__in=OrderLine.objects.filter(
            item_id__in=_vendor_item_ids(filters.vendor)).values("order_id"))
    if filters.older_than_days is not None:
        orders = orders.filter(created_at__lte=_days_ago(filters.older_than_days))
    if filters.order_type:
        orders = orders.filter(type=filters.order_type)
    if filters.sort in ORDER_SORTS:
        return orders.order_by(ORDER_SORTS[filters.sort], "-id")
    return orders.order_by("-id")


def lines_list(filters: ListFilter) -> QuerySet[OrderLine]:
    """Lines of the orders of one status list; back-ordered lines first unless sorted."""
    lines = (OrderLine.objects.select_related("order__customer", "item__vendor")
             .filter(order__status__in=status_list_statuses(filters.status)))
    # Joins, not id subqueries: with an IN list SQLite walks the item index and
    # sorts afterwards, which took seconds on 200,000 lines.
    if filters.customer:
        lines = lines.filter(_customer_match("order__customer__", filters.customer))
    if filters.item:
        lines = lines.filter(_item_match("item__", filters.item))
    if filters.vendor:
        lines = lines.filter(item__vendor__code__iexact=filters.vendor)
    if filters.older_than_days is not None:
        lines = lines.filter(order__created_at__lte=_days_ago(filters.older_than_days))
    if filters.order_type:
        lines = lines.filter(order__type=filters.order_type)
    if filters.sort in LINE_SORTS:
        return lines.order_by(LINE_SORTS[filters.sort], "position")
    back_ordered_first = Case(When(back_ordered__gt=0, then=Value(0)), default=Value(1),
                              output_field=IntegerField())
    return lines.order_by(back_ordered_first, "-order_id", "position")


def _customer_match(prefix: str, text: str) -> Q:
    if text.isascii() and text.isdigit():
        return Q(**{f"{prefix}id": id_value(text) or 0})
    return Q(**{f"{prefix}name__icontains": text})


def _item_match(prefix: str, text: str) -> Q:
    return Q(**{f"{prefix}sku__iexact": text}) | Q(**{f"{prefix}description__icontains": text})


# The order list filters match customers and items in their own small tables
# first, so the orders are reached through the customer and item indexes.
def _customer_ids(text: str) -> QuerySet[Customer, int]:
    if text.isascii() and text.isdigit():
        return Customer.objects.filter(pk=id_value(text) or 0).values_list("pk", flat=True)
    return Customer.objects.filter(name__icontains=text).values_list("pk", flat=True)


def _item_ids(text: str) -> QuerySet[Item, int]:
    return Item.objects.filter(Q(sku__iexact=text) | Q(description__icontains=text)).values_list(
        "pk", flat=True)


def _vendor_item_ids(code: str) -> QuerySet[Item, int]:
    return Item.objects.filter(vendor__code__iexact=code).values_list("pk", flat=True)


def _days_ago(days: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def ready_summary(lines: list[OrderLine]) -> str:
    """'2 of 3 ready' for a waiting order with part of its goods ready, else ''."""
    open_lines = [line for line in lines if line.ready or line.back_ordered]
    ready = [line for line in open_lines if line.ready and not line.back_ordered]
    if not ready:
        return ""
    return f"{len(ready)} of {len(open_lines)} ready"


def order_for_page(number: str) -> Order:
    order = (Order.objects.select_related("customer", "created_by")
             .filter(number=number).first())
    if order is None:
        raise NotFound(f"Order '{number}' not found; check the number.", field="number")
    return order


def amount_due_at_delivery(order: Order, lines: list[OrderLine]) -> Decimal:
    """Return what "Deliver" of everything ready collects: goods handed over minus paid."""
    ready = {line.pk: line.ready for line in lines if line.ready}
    if not ready:
        return ZERO
    return max(delivered_value(lines, ready) - order.paid, ZERO)


def order_payments(order: Order) -> list[Any]:
    return list(order.payments.select_related("user").order_by("id"))


def order_timeline(order: Order) -> QuerySet[Event]:
    return Event.objects.filter(order=order).select_related("user").order_by("id")


def line_requests(order: Order) -> dict[int, list[PurchaseRequest]]:
    """Return the live purchase requests of each line of the order, with their PO."""
    found: dict[int, list[PurchaseRequest]] = {}
    for request in (PurchaseRequest.objects.filter(
            order=order, status__in=[RequestStatus.OPEN, RequestStatus.ON_ORDER])
            .select_related("po_line__purchase_order").order_by("id")):
        if request.order_line_id is not None:
            found.setdefault(request.order_line_id, []).append(request)
    return found


def open_requests_by_vendor() -> list[dict[str, Any]]:
    """Open purchase requests grouped by vendor: units, items, customers waiting."""
    rows = (PurchaseRequest.objects.filter(status=RequestStatus.OPEN, quantity__gt=0)
            .values("vendor_id", "vendor__code", "vendor__name")
            .annotate(units=Sum("quantity"), requests=Count("id"),
                      items=Count("item_id", distinct=True),
                      customers=Count("customer_id", distinct=True),
                      for_stock=Sum("quantity", filter=Q(order_line__isnull=True), default=0),
                      needs_ordering=Count("id", filter=Q(needs_ordering=True)))
            .order_by("vendor__code"))
    return [dict(row) for row in rows]


def open_requests(vendor_id: int | None) -> QuerySet[PurchaseRequest]:
    vendor = Q(vendor__isnull=True) if vendor_id is None else Q(vendor_id=vendor_id)
    return (PurchaseRequest.objects.filter(vendor, status=RequestStatus.OPEN, quantity__gt=0)
            .select_related("item", "customer", "order").order_by("item__sku", "id"))


def purchase_orders_list(status: str = "") -> QuerySet[PurchaseOrder]:
    orders = PurchaseOrder.objects.select_related("vendor").annotate(
        line_count=Count("lines", filter=Q(lines__cancelled=False)),
        units=Sum("lines__quantity", filter=Q(lines__cancelled=False), default=0))
    if status:
        orders = orders.filter(status=status)
    return orders.order_by("-id")


def purchase_order_for_page(number: str) -> PurchaseOrder:
    po = PurchaseOrder.objects.select_related("vendor").filter(number=number).first()
    if po is None:
        raise NotFound(f"Purchase order '{number}' not found; check the number.",
                       field="number")
    return po


def po_lines_with_coverage(po: PurchaseOrder) -> list[PurchaseOrderLine]:
    """Return the PO's lines, each with `.covers`: the customer requests it serves."""
    lines = list(po.lines.select_related("item").order_by("id"))
    covers: dict[int, list[PurchaseRequest]] = {}
    for request in (PurchaseRequest.objects.filter(
            po_line__purchase_order=po, order_line__isnull=False)
            .exclude(status=RequestStatus.CANCELLED)
            .select_related("customer", "order").order_by("id")):
        if request.po_line_id is not None:
            covers.setdefault(request.po_line_id, []).append(request)
    for line in lines:
        line.covers = covers.get(line.pk, [])  # type: ignore[attr-defined]
    return lines


def receivable_purchase_orders() -> QuerySet[PurchaseOrder]:
    return purchase_orders_list().filter(
        status__in=[POStatus.SUBMITTED, POStatus.PARTIALLY_RECEIVED])


def receipt_notices(receipt_id: int) -> QuerySet[ReceivingNotice]:
    return (ReceivingNotice.objects.filter(receipt_id=receipt_id)
            .select_related("order", "customer", "item").order_by("order_id", "id"))


def customer_balance_due(customer_id: int) -> Decimal:
    """Sum of what the customer still owes on their finalized orders."""
    owing = (Order.objects.filter(customer_id=customer_id, total__gt=F("paid"))
             .exclude(status__in=[OrderStatus.CANCELLED, OrderStatus.ON_HOLD]))
    totals = owing.aggregate(total=Sum("total", default=ZERO), paid=Sum("paid", default=ZERO))
    return totals["total"] - totals["paid"]


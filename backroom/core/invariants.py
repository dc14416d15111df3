"""Checks of the rules that must hold between rows after every committed change.

Used by tests, the replay and the benchmarks; each violation is a sentence
naming the rows and the numbers that disagree.
"""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Q, Sum

from backroom.catalog.models import Item
from backroom.core.money import ZERO
from backroom.purchasing.models import PurchaseOrderLine, PurchaseRequest, RequestStatus
from backroom.sales.models import Order, OrderLine, Payment, PaymentKind
from backroom.sales.totals import LineFigures, derive_order_status

LIVE = [RequestStatus.OPEN, RequestStatus.ON_ORDER]


def invariant_violations() -> list[str]:
    return [*_item_violations(), *_line_violations(), *_order_violations(),
            *_po_line_violations()]


def _item_violations() -> list[str]:
    problems = []
    ready = dict(OrderLine.objects.filter(item__tracked=True).values("item_id")
                 .annotate(units=Sum("ready")).values_list("item_id", "units"))
    for item in Item.objects.all().only("pk", "sku", "on_hand", "reserved", "tracked"):
        if not 0 <= item.reserved <= item.on_hand:
            problems.append(f"item {item.sku}: reserved {item.reserved}, on hand {item.on_hand}")
        expected = ready.get(item.pk, 0) if item.tracked else 0
        if item.reserved != expected:
            problems.append(
                f"item {item.sku}: reserved {item.reserved} but its lines have {expected} ready")
    return problems


def _line_violations() -> list[str]:
    problems = []
    covered: dict[int, int] = defaultdict(int)
    open_count: dict[int, int] = defaultdict(int)
    for line_id, status, quantity in (PurchaseRequest.objects
                                      .filter(status__in=LIVE, order_line__isnull=False)
                                      .values_list("order_line_id", "status", "quantity")):
        covered[line_id] += quantity
        if status == RequestStatus.OPEN:
            open_count[line_id] += 1
    lines = OrderLine.objects.filter(Q(back_ordered__gt=0) | Q(pk__in=list(covered)))
    for line in lines.only("pk", "order_id", "quantity", "pending", "delivered", "ready",
                           "back_ordered", "cancelled"):
        if covered.get(line.pk, 0) != line.back_ordered:
            problems.append(f"line {line.pk}: {line.back_ordered} back-ordered but requests "
                            f"cover {covered.get(line.pk, 0)}")
        if open_count.get(line.pk, 0) > 1:
            problems.append(f"line {line.pk}: {open_count[line.pk]} open requests")
    return problems


def _order_violations() -> list[str]:
    problems = []
    paid: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for order_id, kind, amount in (Payment.objects.filter(voided_at__isnull=True)
                                   .values_list("order_id", "kind", "amount")):
        paid[order_id] += amount if kind == PaymentKind.PAYMENT else -amount
    # One summed row per order keeps the memory flat however many lines there are.
    # Buckets are never negative, so their sums decide the status as the lines do.
    sums: dict[int, LineFigures] = {}
    for order_id, back_ordered, ready, delivered, line_total, tax in (
            OrderLine.objects.values_list("order_id", "back_ordered", "ready", "delivered",
                                          "line_total", "tax").iterator(chunk_size=5000)):
        before = sums.get(order_id)
        if before is not None:
            back_ordered += before.back_ordered
            ready += before.ready
            delivered += before.delivered
            line_total += before.line_total
            tax += before.tax
        sums[order_id] = LineFigures(back_ordered, ready, delivered, line_total, tax)
    for order in Order.objects.only("pk", "number", "status", "total", "paid", "finalized_at",
                                    "voided_at").iterator(chunk_size=5000):
        summed = sums.get(order.pk)
        lines = [summed] if summed is not None else []
        status = derive_order_status(lines, order.finalized_at is not None,
                                     order.voided_at is not None)
        if order.status != status:
            problems.append(f"order {order.number}: status {order.status}, buckets say {status}")
        total = sum((line.line_total + line.tax for line in lines), ZERO)
        if order.total != total:
            problems.append(f"order {order.number}: total {order.total}, lines add to {total}")
        if order.paid != paid[order.pk]:
            problems.append(f"order {order.number}: paid {order.paid}, payments add to "
                            f"{paid[order.pk]}")
        if order.paid < 0:
            problems.append(f"order {order.number}: paid {order.paid} is negative")
    return problems


def _po_line_violations() -> list[str]:
    problems = []
    linked = dict(PurchaseRequest.objects.filter(status=RequestStatus.ON_ORDER)
                  .values("po_line_id").annotate(units=Sum("quantity"))
                  .values_list("po_line_id", "units"))
    for po_line in PurchaseOrderLine.objects.filter(pk__in=list(linked)):
        still_to_come = 0 if po_line.closed_short or po_line.cancelled else max(
            po_line.quantity - po_line.received, 0)
        if linked[po_line.pk] > still_to_come:
            problems.append(f"PO line {po_line.pk}: covers {linked[po_line.pk]} customer units "
                            f"but {still_to_come} are still to come")
    return problems

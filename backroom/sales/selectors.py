"""Reads of orders: one order with its lines and payments, lists, the timeline."""

from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Value,
    When,
)

from backroom.core.errors import NotFound
from backroom.core.models import Event
from backroom.core.money import format_percent
from backroom.sales.models import LineStatus, Order, OrderLine, OrderStatus
from backroom.sales.totals import line_status


def order_get(number: str) -> Order:
    # The lines' items come with the lines. Django 5.2 prefetches a foreign key on SQLite
    # with one OR term per row, and SQLite rejects the expression from 999 distinct
    # items ("Expression tree is too large").
    order = (Order.objects.select_related("customer")
             .prefetch_related(Prefetch("lines", OrderLine.objects.select_related("item")),
                               "payments")
             .filter(number=number).first())
    if order is None:
        raise NotFound(f"Order '{number}' not found; check the number.", field="number",
                       number=number)
    return order


def line_dict(line: OrderLine) -> dict[str, Any]:
    return {
        "id": line.pk,
        "sku": line.item.sku,
        "description": line.description,
        "quantity": line.quantity,
        "unit_price": str(line.unit_price),
        "discount_percent": format_percent(line.discount_percent),
        "tax": str(line.tax),
        "line_total": str(line.line_total),
        "delivered": line.delivered,
        "ready": line.ready,
        "back_ordered": line.back_ordered,
        "cancelled": line.cancelled,
        "status": _api_line_status(line),
        "take_now": line.take_now,
    }


def _api_line_status(line: OrderLine) -> str:
    """Return the line status of API v1, whose four values have no "pending": the
    lines of an order on hold wait for it to be finalized."""
    status = line_status(line)
    return LineStatus.WAITING if status == LineStatus.PENDING else status


def order_dict(order: Order) -> dict[str, Any]:
    lines = sorted(order.lines.all(), key=lambda line: line.position)
    payments = sorted(order.payments.all(), key=lambda payment: payment.pk)
    return {
        "number": order.number,
        "type": order.type,
        "status": order.status,
        "customer": {"id": order.customer.pk, "name": order.customer.name},
        "lines": [line_dict(line) for line in lines],
        "subtotal": str(order.subtotal),
        "tax": str(order.tax),
        "total": str(order.total),
        "paid": str(order.paid),
        "balance": str(order.total - order.paid),
        "payments": [
            {
                "id": payment.pk,
                "amount": str(payment.amount),
                "tender": payment.tender,
                "kind": payment.kind,
                "received": str(payment.received),
                "tendered": str(payment.received + payment.change_given),
                "change": str(payment.change_given),
                "store_credit": str(payment.credit_amount),
                "reference": payment.reference,
                "voided": payment.voided_at is not None,
                "created_at": payment.created_at.isoformat(),
            }
            for payment in payments
        ],
        "ready_summary": ready_summary(lines) if order.status == OrderStatus.WAITING else None,
        "priority": order.priority,
        "notified_at": order.notified_at.isoformat() if order.notified_at else None,
        "created_at": order.created_at.isoformat(),
    }


def ready_summary(lines: list[OrderLine]) -> str | None:
    """"2 of 3 ready" for a waiting order that has part of its goods ready."""
    open_lines = [line for line in lines if line.ready or line.back_ordered]
    ready = [line for line in open_lines if line.ready and not line.back_ordered]
    if not ready:
        return None
    return f"{len(ready)} of {len(open_lines)} ready"


def orders_filter(*, statuses: list[str] | None = None, customer: int | None = None,
                  sku: str | None = None, order_type: str | None = None) -> QuerySet[Order]:
    orders = Order.objects.select_related("customer")
    if statuses:
        orders = orders.filter(status__in=statuses)
    if customer is not None:
        orders = orders.filter(customer_id=customer)
    if order_type:
        orders = orders.filter(type=order_type)
    if sku:
        orders = orders.filter(Exists(OrderLine.objects.filter(
            order=OuterRef("pk"), item__sku=sku)))
    return orders.annotate(waiting_first=Case(
        When(status=OrderStatus.WAITING, then=Value(0)), default=Value(1),
        output_field=IntegerField()))


def lines_segments(*, statuses: list[str] | None = None, customer: int | None = None,
                   sku: str | None = None,
                   order_type: str | None = None) -> list[QuerySet[OrderLine]]:
    """Return the order lines that match, as two querysets to read one after the other:
    the back-ordered lines, then the rest."""
    lines = OrderLine.objects.select_related("order__customer", "item")
    if customer is not None:
        lines = lines.filter(order__customer_id=customer)
    if order_type:
        lines = lines.filter(order__type=order_type)
    if sku:
        lines = lines.filter(item__sku=sku)
    back_ordered = lines.filter(back_ordered__gt=0)
    rest = lines.filter(back_ordered=0)
    if statuses:
        rest = rest.filter(order__status__in=statuses)
        if connection.vendor == "sqlite":
            # SQLite, given a condition on the joined order, reads every back-ordered line
            # of every order with the status and sorts them. With the status checked by a
            # subquery per line, it walks the back-ordered lines newest first along
            # line_back_ordered_id_idx and stops at a page. PostgreSQL plans the join well
            # and the subquery badly (25 against 7 ms at 1M lines).
            back_ordered = back_ordered.filter(Exists(Order.objects.filter(
                pk=OuterRef("order_id"), status__in=statuses)))
        else:
            back_ordered = back_ordered.filter(order__status__in=statuses)
    return [back_ordered, rest]


def order_summary_dict(order: Order) -> dict[str, Any]:
    return {
        "number": order.number,
        "type": order.type,
        "status": order.status,
        "customer": {"id": order.customer.pk, "name": order.customer.name},
        "total": str(order.total),
        "paid": str(order.paid),
        "balance": str(order.total - order.paid),
        "notified_at": order.notified_at.isoformat() if order.notified_at else None,
        "created_at": order.created_at.isoformat(),
    }


def line_row_dict(line: OrderLine) -> dict[str, Any]:
    row = line_dict(line)
    row["order"] = line.order.number
    row["order_status"] = line.order.status
    row["customer"] = {"id": line.order.customer.pk, "name": line.order.customer.name}
    return row


def order_events(order: Order) -> list[dict[str, Any]]:
    events = Event.objects.filter(order=order).select_related("user").order_by("id")
    return [
        {
            "at": event.at.isoformat(),
            "user": event.user.username if event.user else None,
            "action": event.action,
            "detail": event.detail,
        }
        for event in events
    ]



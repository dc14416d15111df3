"""Reads of purchasing: purchase orders with the customers each line covers,
receipts with their notices, purchase requests."""

from typing import Any

from django.db.models import Prefetch, QuerySet

from backroom.core.errors import NotFound
from backroom.purchasing.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseRequest,
    Receipt,
    ReceiptLine,
    ReceivingNotice,
    RequestStatus,
)


def purchase_order_get(number: str) -> PurchaseOrder:
    po = (PurchaseOrder.objects.select_related("vendor")
          .prefetch_related(
              # The items come with the lines, as in `order_get`.
              Prefetch("lines", PurchaseOrderLine.objects.select_related("item")),
              Prefetch("lines__requests",
                       queryset=PurchaseRequest.objects.filter(status=RequestStatus.ON_ORDER)
                       .select_related("order", "customer").order_by("id")))
          .filter(number=number).first())
    if po is None:
        raise NotFound(f"Purchase order '{number}' not found; check the number.",
                       field="number", number=number)
    return po


def purchase_order_dict(po: PurchaseOrder) -> dict[str, Any]:
    return {
        "number": po.number,
        "vendor": po.vendor.code,
        "status": po.status,
        "expected_date": po.expected_date.isoformat() if po.expected_date else None,
        "created_at": po.created_at.isoformat(),
        "submitted_at": po.submitted_at.isoformat() if po.submitted_at else None,
        "lines": [
            {
                "id": line.pk,
                "sku": line.item.sku,
                "description": line.item.description,
                "quantity": line.quantity,
                "received": line.received,
                "cost": str(line.cost),
                "closed_short": line.closed_short,
                "cancelled": line.cancelled,
                "customer_requests": [
                    _coverage_dict(request) for request in line.requests.all()
                    if request.order_id
                ],
            }
            for line in po.lines.all()
        ],
    }


def _coverage_dict(request: PurchaseRequest) -> dict[str, Any]:
    order = request.order
    customer = request.customer
    return {"request": request.pk, "order": order.number if order else None,
            "customer": customer.name if customer else None, "quantity": request.quantity}


def purchase_orders_filter(*, vendor: str | None = None,
                           statuses: list[str] | None = None) -> QuerySet[PurchaseOrder]:
    orders = PurchaseOrder.objects.select_related("vendor")
    if vendor:
        orders = orders.filter(vendor__code=vendor)
    if statuses:
        orders = orders.filter(status__in=statuses)
    return orders


def purchase_order_summary_dict(po: PurchaseOrder) -> dict[str, Any]:
    return {"number": po.number, "vendor": po.vendor.code, "status": po.status,
            "expected_date": po.expected_date.isoformat() if po.expected_date else None,
            "created_at": po.created_at.isoformat()}


def receipt_get(number: str) -> Receipt:
    receipt = (Receipt.objects.select_related("purchase_order")
               .prefetch_related(
                   # Related rows come with the lines and notices, as in `order_get`.
                   Prefetch("lines", ReceiptLine.objects.select_related("item").order_by("id")),
                   Prefetch("notices", ReceivingNotice.objects.select_related(
                       "order", "customer", "item").order_by("id")))
               .filter(number=number).first())
    if receipt is None:
        raise NotFound(f"Receipt '{number}' not found; check the number.", field="number")
    return receipt


def receipt_dict(receipt: Receipt) -> dict[str, Any]:
    return {
        "number": receipt.number,
        "purchase_order": receipt.purchase_order.number if receipt.purchase_order else None,
        "created_at": receipt.created_at.isoformat(),
        "lines": [{"sku": line.item.sku, "quantity": line.quantity,
                   "closed_short": line.closed_short} for line in receipt.lines.all()],
        "notices": [
            {"order": notice.order.number, "customer": notice.customer.name,
             "sku": notice.item.sku, "description": notice.item.description,
             "quantity": notice.quantity, "order_status": notice.order_status,
             "message": f"{notice.quantity} × {notice.item.description} for "
                        f"{notice.customer.name}, order #{notice.order.number}"}
            for notice in receipt.notices.all()
        ],
    }


def requests_filter(*, vendor: str | None = None, status: str | None = None,
                    sku: str | None = None) -> QuerySet[PurchaseRequest]:
    requests = PurchaseRequest.objects.select_related("item", "vendor", "order", "customer",
                                                      "po_line__purchase_order")
    if vendor:
        requests = requests.filter(vendor__code=vendor)
    if status:
        requests = requests.filter(status=status)
    if sku:
        requests = requests.filter(item__sku=sku)
    return requests


def request_dict(request: PurchaseRequest) -> dict[str, Any]:
    return {
        "id": request.pk,
        "sku": request.item.sku,
        "vendor": request.vendor.code if request.vendor else None,
        "quantity": request.quantity,
        "served": request.served,
        "status": request.status,
        "needs_ordering": request.needs_ordering,
        "order": request.order.number if request.order else None,
        "customer": request.customer.name if request.customer else None,
        "purchase_order": (request.po_line.purchase_order.number
                           if request.po_line else None),
        "created_at": request.created_at.isoformat(),
    }

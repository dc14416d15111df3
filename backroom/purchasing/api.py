from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field, StrictBool, StrictInt

from backroom.api.idempotency import idempotent
from backroom.api.pagination import paginate
from backroom.api.schemas import ChangeBody, Day, Money, PathId, Quantity, QueryInt, RequestBody
from backroom.core.errors import ValidationFailed, shown
from backroom.purchasing import selectors, services
from backroom.purchasing.models import POStatus

router = Router(tags=["purchasing"])


class POLineIn(RequestBody):
    sku: str
    quantity: Quantity
    cost: Money | None = None


class POIn(RequestBody):
    vendor: str
    include_purchase_requests: StrictBool = False
    include_reorder: StrictBool = False
    lines: list[POLineIn] = []
    expected_date: Day | None = None


class POLineChangeIn(ChangeBody):
    quantity: Quantity | None = None
    cost: Money | None = None


class CancelIn(RequestBody):
    reason: str = Field(default="", max_length=200)


class ReceiveLineIn(RequestBody):
    id: StrictInt
    quantity: Quantity
    close_short: StrictBool = False


class ReceiptIn(RequestBody):
    lines: list[ReceiveLineIn]


class StockRequestIn(RequestBody):
    sku: str
    quantity: Quantity


class RequestFilters(Schema):
    vendor: str | None = None
    status: Literal["open", "on_order", "fulfilled", "cancelled"] | None = None
    sku: str | None = None
    limit: QueryInt | None = None
    cursor: str | None = None


def _po(number: str) -> dict[str, Any]:
    return selectors.purchase_order_dict(selectors.purchase_order_get(number))


@router.get("/purchase-requests", response=dict, summary="List purchase requests")
def request_list(request: HttpRequest, filters: Query[RequestFilters]) -> dict[str, Any]:
    return paginate(
        selectors.requests_filter(vendor=filters.vendor, status=filters.status, sku=filters.sku),
        keys=[("id", False)], limit=filters.limit, cursor=filters.cursor,
        render=lambda rows: [selectors.request_dict(row) for row in rows])


@router.post("/purchase-requests", response={201: dict}, summary="Request units for stock")
@idempotent(201)
def request_for_stock(request: HttpRequest, payload: StockRequestIn) -> dict[str, Any]:
    created = services.purchase_request_for_stock(user=request.user, sku=payload.sku,
                                                  quantity=payload.quantity)
    return selectors.request_dict(selectors.requests_filter().get(pk=created.pk))


class RequestVendorIn(RequestBody):
    vendor: str


@router.patch("/purchase-requests/{request_id}", response=dict,
              summary="Choose the vendor of an open purchase request")
def request_set_vendor(request: HttpRequest, request_id: PathId,
                       payload: RequestVendorIn) -> dict[str, Any]:
    changed = services.purchase_request_set_vendor(user=request.user, request_id=request_id,
                                                   vendor=payload.vendor)
    return selectors.request_dict(selectors.requests_filter().get(pk=changed.pk))


@router.post("/orders/{number}/lines/{line_id}/purchase-request", response=dict,
             summary="Request a purchase for a line's back-ordered units (never twice)")
@idempotent(200)
def request_for_line(request: HttpRequest, number: str, line_id: PathId) -> dict[str, Any]:
    rows = services.purchase_request_for_line(user=request.user, number=number, line_id=line_id)
    requests = selectors.requests_filter().filter(pk__in=[row.pk for row in rows]).order_by("id")
    return {"items": [selectors.request_dict(row) for row in requests], "next_cursor": None}


@router.post("/purchase-orders", response={201: dict}, summary="Create a purchase order")
@idempotent(201)
def po_create(request: HttpRequest, payload: POIn) -> dict[str, Any]:
    po = services.purchase_order_create(
        user=request.user, vendor=payload.vendor,
        include_purchase_requests=payload.include_purchase_requests,
        include_reorder=payload.include_reorder, expected_date=payload.expected_date,
        lines=[services.POLineInput(**line.model_dump()) for line in payload.lines])
    return _po(po.number)


class POFilters(Schema):
    vendor: str | None = None
    status: list[str] = []
    limit: QueryInt | None = None
    cursor: str | None = None


@router.get("/purchase-orders", response=dict, summary="List purchase orders")
def po_list(request: HttpRequest, filters: Query[POFilters]) -> dict[str, Any]:
    for value in filters.status:
        if value not in POStatus.values:
            raise ValidationFailed(
                f"Unknown status '{shown(value)}'; use any of {', '.join(POStatus.values)}.",
                field="query.status")
    return paginate(selectors.purchase_orders_filter(vendor=filters.vendor,
                                                     statuses=filters.status),
                    keys=[("id", True)], limit=filters.limit, cursor=filters.cursor,
                    render=lambda rows: [selectors.purchase_order_summary_dict(po)
                                         for po in rows])


@router.get("/purchase-orders/{number}", response=dict, summary="A purchase order")
def po_detail(request: HttpRequest, number: str) -> dict[str, Any]:
    return _po(number)


@router.post("/purchase-orders/{number}/lines", response=dict,
             summary="Add a line to a draft purchase order")
@idempotent(200)
def po_add_line(request: HttpRequest, number: str, payload: POLineIn) -> dict[str, Any]:
    services.purchase_order_add_line(user=request.user, number=number,
                                     line=services.POLineInput(**payload.model_dump()))
    return _po(number)


@router.patch("/purchase-orders/{number}/lines/{line_id}", response=dict,
              summary="Change a draft purchase order line")
def po_change_line(request: HttpRequest, number: str, line_id: PathId,
                   payload: POLineChangeIn) -> dict[str, Any]:
    services.purchase_order_line_update(user=request.user, number=number, line_id=line_id,
                                        **payload.changes())
    return _po(number)


@router.post("/purchase-orders/{number}/lines/{line_id}/cancel", response=dict,
             summary="Cancel a purchase order line")
@idempotent(200)
def po_cancel_line(request: HttpRequest, number: str, line_id: PathId) -> dict[str, Any]:
    services.purchase_order_line_cancel(user=request.user, number=number, line_id=line_id)
    return _po(number)


@router.post("/purchase-orders/{number}/submit", response=dict,
             summary="Submit a purchase order to the vendor")
@idempotent(200)
def po_submit(request: HttpRequest, number: str) -> dict[str, Any]:
    services.purchase_order_submit(user=request.user, number=number)
    return _po(number)


@router.post("/purchase-orders/{number}/cancel", response=dict,
             summary="Cancel a purchase order")
@idempotent(200)
def po_cancel(request: HttpRequest, number: str, payload: CancelIn) -> dict[str, Any]:
    services.purchase_order_cancel(user=request.user, number=number, reason=payload.reason)
    return _po(number)


@router.post("/purchase-orders/{number}/receipts", response={201: dict},
             summary="Receive goods on a purchase order",
             description="Receives the given units of each PO line in `lines`. Give each PO "
                         "line id once: a line id given twice is rejected with 422 and nothing "
                         "is received.")
@idempotent(201)
def po_receive(request: HttpRequest, number: str, payload: ReceiptIn) -> dict[str, Any]:
    receipt = services.purchase_order_receive(
        user=request.user, number=number,
        lines=[services.ReceiveLineInput(line_id=line.id, quantity=line.quantity,
                                         close_short=line.close_short)
               for line in payload.lines])
    return selectors.receipt_dict(selectors.receipt_get(receipt.number))


@router.get("/receipts/{number}", response=dict, summary="A receipt with its notices")
def receipt_detail(request: HttpRequest, number: str) -> dict[str, Any]:
    return selectors.receipt_dict(selectors.receipt_get(number))



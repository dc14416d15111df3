from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field, StrictBool, StrictInt

from backroom.api.idempotency import idempotent
from backroom.api.pagination import paginate_segments
from backroom.api.schemas import MAX_ID, Money, PathId, Percent, Quantity, QueryInt, RequestBody
from backroom.core.errors import ValidationFailed, shown
from backroom.sales import payments as payment_services
from backroom.sales import selectors, services
from backroom.sales.models import OrderStatus, OrderType
from backroom.sales.payments import PaymentInput

router = Router(tags=["orders"])

TenderName = Literal["cash", "card", "check", "store_credit", "other"]
RefundChoice = Literal["original_tender", "store_credit", "none"]


class LineIn(RequestBody):
    sku: str | None = None
    quantity: Quantity
    unit_price: Money | None = None
    discount_percent: Percent | None = None
    take_now: StrictBool = False
    description: str | None = Field(default=None, max_length=300)
    vendor: str | None = None


class PaymentIn(RequestBody):
    amount: Money
    tender: TenderName
    reference: str = Field(default="", max_length=100)
    to_store_credit: StrictBool = False


class OrderIn(RequestBody):
    type: Literal["sale", "sales_order", "special_order", "layaway", "custom_order"]
    customer: StrictInt | None = None
    lines: list[LineIn]
    payments: list[PaymentIn] = []
    hold: StrictBool = False


class FinalizeIn(RequestBody):
    payments: list[PaymentIn] = []


class RefundIn(RequestBody):
    amount: Money
    tender: TenderName | None = None
    to_store_credit: StrictBool = False
    reason: str = Field(max_length=200)


class QuantityIn(RequestBody):
    quantity: Quantity


class LineCancelIn(RequestBody):
    quantity: Quantity
    refund: RefundChoice = "none"


class ReturnIn(RequestBody):
    quantity: Quantity
    refund: RefundChoice = "none"
    reason: str = Field(default="", max_length=200)


class DeliverLineIn(RequestBody):
    id: StrictInt
    quantity: Quantity


class DeliveryIn(RequestBody):
    lines: list[DeliverLineIn] | None = None
    payments: list[PaymentIn] = []


class VoidIn(RequestBody):
    refund: RefundChoice = "original_tender"
    reason: str = Field(max_length=200)


class PaymentVoidIn(RequestBody):
    reason: str = Field(default="", max_length=200)


class PriorityIn(RequestBody):
    priority: StrictInt = Field(ge=-services.MAX_PRIORITY, le=services.MAX_PRIORITY)


def _payments(payments: list[PaymentIn]) -> list[PaymentInput]:
    return [PaymentInput(**payment.model_dump()) for payment in payments]


def _order(number: str) -> dict[str, Any]:
    return selectors.order_dict(selectors.order_get(number))


@router.post("/orders", response={201: dict}, summary="Create and finalize an order, or hold it")
@idempotent(201)
def order_create(request: HttpRequest, payload: OrderIn) -> dict[str, Any]:
    order = services.order_create(
        user=request.user, order_type=payload.type, customer_id=payload.customer,
        lines=[services.LineInput(**line.model_dump()) for line in payload.lines],
        payments=_payments(payload.payments), hold=payload.hold)
    return _order(order.number)


class OrderFilters(Schema):
    status: list[str] = []
    customer: QueryInt | None = Field(default=None, ge=1, le=MAX_ID)
    sku: str | None = None
    type: str | None = None
    view: Literal["summary", "lines"] = "summary"
    limit: QueryInt | None = None
    cursor: str | None = None


@router.get("/orders", response=dict,
            summary="List orders, or their lines with view=lines; back-ordered first")
def order_list(request: HttpRequest, filters: Query[OrderFilters]) -> dict[str, Any]:
    for status in filters.status:
        if status not in OrderStatus.values:
            raise ValidationFailed(
                f"Unknown status '{shown(status)}'; use any of {', '.join(OrderStatus.values)}.",
                field="query.status")
    if filters.type and filters.type not in OrderType.values:
        raise ValidationFailed(
            f"Unknown order type '{shown(filters.type)}'; use one of "
            f"{', '.join(OrderType.values)}.",
            field="query.type")
    if filters.view == "lines":
        line_segments = selectors.lines_segments(
            statuses=filters.status, customer=filters.customer, sku=filters.sku,
            order_type=filters.type)
        return paginate_segments(
            line_segments, limit=filters.limit, cursor=filters.cursor,
            render=lambda rows: [selectors.line_row_dict(line) for line in rows])
    orders = selectors.orders_filter(statuses=filters.status, customer=filters.customer,
                                     sku=filters.sku, order_type=filters.type)
    segments = [orders.filter(status=OrderStatus.WAITING),
                orders.exclude(status=OrderStatus.WAITING)]
    return paginate_segments(
        segments, limit=filters.limit, cursor=filters.cursor,
        render=lambda rows: [selectors.order_summary_dict(order) for order in rows])


@router.get("/orders/{number}", response=dict, summary="An order")
def order_detail(request: HttpRequest, number: str) -> dict[str, Any]:
    return _order(number)


@router.get("/orders/{number}/events", response=list, summary="The order's timeline")
def order_events(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    return selectors.order_events(selectors.order_get(number))


@router.post("/orders/{number}/finalize", response=dict, summary="Finalize a held order")
@idempotent(200)
def order_finalize(request: HttpRequest, number: str, payload: FinalizeIn) -> dict[str, Any]:
    services.order_finalize(user=request.user, number=number,
                            payments=_payments(payload.payments))
    return _order(number)


@router.post("/orders/{number}/payments", response=dict, summary="Take a payment")
@idempotent(200)
def order_payment(request: HttpRequest, number: str, payload: PaymentIn) -> dict[str, Any]:
    payment_services.order_add_payment(user=request.user, number=number,
                                       payment=PaymentInput(**payload.model_dump()))
    return _order(number)


@router.post("/orders/{number}/payments/{payment_id}/void", response=dict,
             summary="Void a payment or a refund")
@idempotent(200)
def order_payment_void(request: HttpRequest, number: str, payment_id: PathId,
                       payload: PaymentVoidIn) -> dict[str, Any]:
    payment_services.payment_void(user=request.user, number=number, payment_id=payment_id,
                                  reason=payload.reason)
    return _order(number)


@router.post("/orders/{number}/refunds", response=dict, summary="Refund money")
@idempotent(200)
def order_refund(request: HttpRequest, number: str, payload: RefundIn) -> dict[str, Any]:
    payment_services.order_refund(user=request.user, number=number, amount=payload.amount,
                                  tender=payload.tender, to_store_credit=payload.to_store_credit,
                                  reason=payload.reason)
    return _order(number)


@router.post("/orders/{number}/lines", response=dict, summary="Add a line")
@idempotent(200)
def order_add_line(request: HttpRequest, number: str, payload: LineIn) -> dict[str, Any]:
    services.order_add_line(user=request.user, number=number,
                            line=services.LineInput(**payload.model_dump()))
    return _order(number)


@router.post("/orders/{number}/lines/{line_id}/back-order", response=dict,
             summary="Back order item: move ready units back to back-ordered")
@idempotent(200)
def line_back_order(request: HttpRequest, number: str, line_id: PathId,
                    payload: QuantityIn) -> dict[str, Any]:
    services.line_back_order(user=request.user, number=number, line_id=line_id,
                             quantity=payload.quantity)
    return _order(number)


@router.post("/orders/{number}/lines/{line_id}/quantity", response=dict,
             summary="Raise or lower a line's quantity")
@idempotent(200)
def line_quantity(request: HttpRequest, number: str, line_id: PathId,
                  payload: QuantityIn) -> dict[str, Any]:
    services.line_change_quantity(user=request.user, number=number, line_id=line_id,
                                  quantity=payload.quantity)
    return _order(number)


@router.post("/orders/{number}/lines/{line_id}/cancel", response=dict,
             summary="Cancel undelivered units of a line")
@idempotent(200)
def line_cancel(request: HttpRequest, number: str, line_id: PathId,
                payload: LineCancelIn) -> dict[str, Any]:
    services.line_cancel(user=request.user, number=number, line_id=line_id,
                         quantity=payload.quantity, refund=payload.refund)
    return _order(number)


@router.post("/orders/{number}/lines/{line_id}/return", response=dict,
             summary="Take back delivered units")
@idempotent(200)
def line_return(request: HttpRequest, number: str, line_id: PathId,
                payload: ReturnIn) -> dict[str, Any]:
    services.line_return(user=request.user, number=number, line_id=line_id,
                         quantity=payload.quantity, refund=payload.refund, reason=payload.reason)
    return _order(number)


@router.post("/orders/{number}/deliveries", response=dict,
             summary="Hand over goods, collecting what is due",
             description="Hands over the given units of each line in `lines`, or every ready "
                         "unit when `lines` is left out. Give each line id once: a line id "
                         "given twice is rejected with 422 and nothing is handed over.")
@idempotent(200)
def order_deliver(request: HttpRequest, number: str, payload: DeliveryIn) -> dict[str, Any]:
    lines = None
    if payload.lines is not None:
        lines = [services.DeliverLine(line_id=line.id, quantity=line.quantity)
                 for line in payload.lines]
    services.order_deliver(user=request.user, number=number, lines=lines,
                           payments=_payments(payload.payments))
    return _order(number)


@router.post("/orders/{number}/void", response=dict, summary="Void the order")
@idempotent(200)
def order_void(request: HttpRequest, number: str, payload: VoidIn) -> dict[str, Any]:
    services.order_void(user=request.user, number=number, refund=payload.refund,
                        reason=payload.reason)
    return _order(number)


@router.post("/orders/{number}/priority", response=dict,
             summary="Set the order's priority when goods are shared out")
@idempotent(200)
def order_priority(request: HttpRequest, number: str, payload: PriorityIn) -> dict[str, Any]:
    services.order_set_priority(user=request.user, number=number, priority=payload.priority)
    return _order(number)

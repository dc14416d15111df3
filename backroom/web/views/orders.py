"""The order page: lines with their Operations, payments, "Deliver", void, timeline."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from backroom.core.errors import NotFound
from backroom.core.models import StoreSettings
from backroom.core.money import percent_of
from backroom.sales.models import Order, OrderStatus, OrderType, PaymentKind, Tender
from backroom.sales.payments import (
    PaymentInput,
    order_add_payment,
    order_refund,
    payment_void,
)
from backroom.sales.services import (
    DeliverLine,
    LineInput,
    line_back_order,
    line_cancel,
    line_change_quantity,
    line_return,
    order_add_line,
    order_deliver,
    order_finalize,
    order_set_priority,
    order_void,
)
from backroom.web import selectors
from backroom.web.approval import attempt
from backroom.web.forms import (
    FormState,
    checked,
    form_state,
    id_value,
    parse_amount,
    parse_quantity,
)
from backroom.web.views.common import page

REFUND_CHOICES = [("original_tender", "Refund to the original tender"),
                  ("store_credit", "Refund to store credit"), ("none", "No refund")]


def _order_or_404(number: str) -> Order:
    try:
        return selectors.order_for_page(number)
    except NotFound as error:
        raise Http404(error.detail) from None


@login_required
def order_find(request: HttpRequest) -> HttpResponse:
    number = request.GET.get("number", "").strip().lstrip("#")
    if Order.objects.filter(number=number).exists():
        return redirect("web:order", number=number)
    messages.error(request, f"Order '{number}' not found; check the number.")
    return redirect("web:status")


@login_required
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    return _render(request, _order_or_404(number), FormState())


def _render(request: HttpRequest, order: Order, state: FormState,
            status: int = 200) -> HttpResponse:
    lines = list(order.lines.select_related("item").order_by("position"))
    requests = selectors.line_requests(order)
    for line in lines:
        line.requests = requests.get(line.pk, [])  # type: ignore[attr-defined]
    due = selectors.amount_due_at_delivery(order, lines)
    failed_op, _, failed_line = state.name.rpartition("-")
    context = {
        "failed_op": failed_op if id_value(failed_line) is not None else "",
        "failed_line": id_value(failed_line),
        "order": order, "lines": lines, "state": state, "due": due,
        "balance": order.total - order.paid,
        "ready_summary": selectors.ready_summary(lines),
        "has_ready": any(line.ready for line in lines),
        "payments": _payments_with_voidable(order),
        "can_void": _can_void(order, lines),
        "can_take_payment": (order.finalized_at is not None
                             and order.status != OrderStatus.CANCELLED),
        "timeline": selectors.order_timeline(order),
        "tenders": Tender.choices, "refund_choices": REFUND_CHOICES,
        "proposed_deposit": _proposed_deposit(order),
        "open": order.status not in (OrderStatus.CANCELLED, OrderStatus.DELIVERED),
    }
    return page(request, context, "web/order.html", status=status)


def _can_void(order: Order, lines: list[Any]) -> bool:
    """Return True when `order_void` accepts the order: a sale always, others with open units."""
    if order.status == OrderStatus.CANCELLED:
        return False
    if order.type == OrderType.SALE:
        return True
    return any(line.pending or line.ready or line.back_ordered for line in lines)


def _payments_with_voidable(order: Order) -> list[Any]:
    """List the order's payments, each marked `voidable` by the rules of `payment_void`.

    A payment with live refunds cannot be voided, and voiding a refund must not
    push the paid amount above the order total.
    """
    payments = selectors.order_payments(order)
    refunded = {payment.refund_of_id for payment in payments
                if payment.kind == PaymentKind.REFUND and payment.voided_at is None}
    for payment in payments:
        if payment.voided_at is not None:
            voidable = False
        elif payment.kind == PaymentKind.PAYMENT:
            voidable = payment.pk not in refunded
        else:
            voidable = order.paid + payment.amount <= order.total
        payment.voidable = voidable
    return payments


def _proposed_deposit(order: Order) -> Decimal:
    if order.finalized_at is not None:
        return order.total - order.paid
    return percent_of(order.total, StoreSettings.load().deposit_percent)


# A form handler parses the typed values and returns the service call to run
# as the acting user, or None when the values are invalid (errors in `state`).
Call = Callable[[Any], str]


@login_required
@require_POST
def order_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """Run one order-level form: payment, refund, deliver, void, finalize, add line, priority."""
    order = _order_or_404(number)
    handler = ORDER_ACTIONS.get(action)
    if handler is None:
        raise Http404(f"Unknown order action '{action}'.")
    state = form_state(action, request.POST)
    return _run(request, order, state, handler(state, order.number))


@login_required
@require_POST
def line_action(request: HttpRequest, number: str, line_id: int, action: str) -> HttpResponse:
    """Run one of a line's Operations: back order, change quantity, cancel, deliver, return."""
    order = _order_or_404(number)
    handler = LINE_ACTIONS.get(action)
    if handler is None or not order.lines.filter(pk=line_id).exists():
        raise Http404(f"Unknown operation '{action}' or line {line_id}.")
    state = form_state(f"{action}-{line_id}", request.POST)
    return _run(request, order, state, handler(state, order.number, line_id))


def _run(request: HttpRequest, order: Order, state: FormState, call: Call | None) -> HttpResponse:
    """Call the service (asking approval when needed), then redirect or show the errors."""
    done = None
    if call is not None and not state.failed:
        done = attempt(request, state, call, targets=lambda _: {"order": order},
                       fields=ERROR_FIELDS)
    if done is None:
        order.refresh_from_db()
        return _render(request, order, state, status=422)
    messages.success(request, done)
    return redirect(reverse("web:order", args=[order.number]))


# Service field names and the form inputs that show their errors.
ERROR_FIELDS = {"lines": "quantity", "line": "quantity", "payments": "amount",
                "lines[0].quantity": "quantity", "lines[0].id": "quantity",
                "line.sku": "sku", "line.quantity": "quantity", "payment": "reason"}


def _payment(state: FormState) -> PaymentInput | None:
    amount = parse_amount(state, "amount", required=False)
    if not amount:
        return None
    return PaymentInput(amount=amount, tender=state.values.get("tender", "cash"),
                        reference=state.values.get("reference", "").strip(),
                        to_store_credit=checked(state, "to_store_credit"))


def take_payment(state: FormState, number: str) -> Call | None:
    if not state.values.get("amount", "").strip():
        state.add("amount", "Enter an amount.")
    payment = _payment(state)
    if payment is None:
        return None

    def call(user) -> str:
        order = order_add_payment(user=user, number=number, payment=payment)
        return f"Payment of {payment.amount} taken; balance {order.total - order.paid}."
    return call


def refund(state: FormState, number: str) -> Call | None:
    amount = parse_amount(state, "amount")
    if amount is None:
        return None

    def call(user) -> str:
        order = order_refund(user=user, number=number, amount=amount,
                             tender=state.values.get("tender") or None,
                             to_store_credit=checked(state, "to_store_credit"),
                             reason=state.values.get("reason", ""))
        return f"Refunded {amount}; paid is now {order.paid}."
    return call


def deliver(state: FormState, number: str) -> Call | None:
    payment = _payment(state)

    def call(user) -> str:
        order = order_deliver(user=user, number=number, payments=[payment] if payment else [])
        return f"Delivered; order {order.number} is {order.get_status_display().lower()}."
    return call


def void(state: FormState, number: str) -> Call | None:
    def call(user) -> str:
        order = order_void(user=user, number=number,
                           refund=state.values.get("refund", "original_tender"),
                           reason=state.values.get("reason", ""))
        return f"Order {order.number} voided."
    return call


def finalize(state: FormState, number: str) -> Call | None:
    payment = _payment(state)

    def call(user) -> str:
        order = order_finalize(user=user, number=number, payments=[payment] if payment else [])
        return f"Order {order.number} finalized: {order.get_status_display().lower()}."
    return call


def add_line(state: FormState, number: str) -> Call | None:
    quantity = parse_quantity(state, "quantity")
    sku = state.values.get("sku", "").strip()
    if not sku:
        state.add("sku", "Enter the SKU of the item to add.")
    if quantity is None or not sku:
        return None
    line = LineInput(sku=sku, quantity=quantity, take_now=checked(state, "take_now"))

    def call(user) -> str:
        order = order_add_line(user=user, number=number, line=line)
        return f"Added {quantity} × {sku}; the order is {order.get_status_display().lower()}."
    return call


def set_priority(state: FormState, number: str) -> Call | None:
    priority = parse_quantity(state, "priority", minimum=-1000)
    if priority is None:
        return None

    def call(user) -> str:
        order_set_priority(user=user, number=number, priority=priority)
        return f"Priority set to {priority}."
    return call


def void_payment(state: FormState, number: str) -> Call | None:
    payment_id = parse_quantity(state, "payment", maximum=2**63 - 1)
    if payment_id is None:
        return None

    def call(user) -> str:
        order = payment_void(user=user, number=number, payment_id=payment_id,
                             reason=state.values.get("reason", ""))
        return f"Payment voided; paid is now {order.paid}."
    return call


ORDER_ACTIONS: dict[str, Callable[[FormState, str], Call | None]] = {
    "payment": take_payment, "refund": refund, "deliver": deliver, "void": void,
    "finalize": finalize, "add-line": add_line, "priority": set_priority,
    "void-payment": void_payment,
}


def back_order(state: FormState, number: str, line_id: int) -> Call | None:
    quantity = parse_quantity(state, "quantity")
    if quantity is None:
        return None

    def call(user) -> str:
        line_back_order(user=user, number=number, line_id=line_id, quantity=quantity)
        return f"Back ordered {quantity} unit(s)."
    return call


def change_quantity(state: FormState, number: str, line_id: int) -> Call | None:
    quantity = parse_quantity(state, "quantity")
    if quantity is None:
        return None

    def call(user) -> str:
        line_change_quantity(user=user, number=number, line_id=line_id, quantity=quantity)
        return f"Quantity changed to {quantity}."
    return call


def cancel(state: FormState, number: str, line_id: int) -> Call | None:
    quantity = parse_quantity(state, "quantity")
    if quantity is None:
        return None

    def call(user) -> str:
        line_cancel(user=user, number=number, line_id=line_id, quantity=quantity,
                    refund=state.values.get("refund", "none"))
        return f"Cancelled {quantity} unit(s)."
    return call


def deliver_line(state: FormState, number: str, line_id: int) -> Call | None:
    quantity = parse_quantity(state, "quantity")
    payment = _payment(state)
    if quantity is None:
        return None

    def call(user) -> str:
        order_deliver(user=user, number=number,
                      lines=[DeliverLine(line_id=line_id, quantity=quantity)],
                      payments=[payment] if payment else [])
        return f"Delivered {quantity} unit(s)."
    return call


def return_units(state: FormState, number: str, line_id: int) -> Call | None:
    quantity = parse_quantity(state, "quantity")
    if quantity is None:
        return None

    def call(user) -> str:
        line_return(user=user, number=number, line_id=line_id, quantity=quantity,
                    refund=state.values.get("refund", "none"),
                    reason=state.values.get("reason", ""))
        return f"Took back {quantity} unit(s)."
    return call


LINE_ACTIONS: dict[str, Callable[[FormState, str, int], Call | None]] = {
    "back-order": back_order, "change-quantity": change_quantity, "cancel": cancel,
    "deliver": deliver_line, "return": return_units,
}


@login_required
def order_label(request: HttpRequest, number: str) -> HttpResponse:
    """Render the printable pick-up label: order, customer, the goods ready and the balance."""
    order = _order_or_404(number)
    lines = [line for line in order.lines.select_related("item").order_by("position")
             if line.ready]
    return page(request, {"order": order, "lines": lines,
                          "balance": order.total - order.paid}, "web/label.html")

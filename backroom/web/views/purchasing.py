"""Purchasing: open requests by vendor, create, edit, submit and cancel purchase orders."""

import datetime
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from backroom.catalog.models import Vendor
from backroom.core.errors import NotFound
from backroom.purchasing.models import POStatus, PurchaseOrder
from backroom.purchasing.services import (
    POLineInput,
    purchase_order_add_line,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_line_cancel,
    purchase_order_line_update,
    purchase_order_submit,
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
from backroom.web.views.common import page, paginate, query_without_page

Call = Callable[[Any], str]


@login_required
def requests_by_vendor(request: HttpRequest) -> HttpResponse:
    groups = selectors.open_requests_by_vendor()
    for group in groups:
        group["requests"] = list(selectors.open_requests(group["vendor_id"])[:50])
    return page(request, {"groups": groups}, "web/purchasing.html")


@login_required
@require_http_methods(["GET", "POST"])
def po_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        state = FormState(name="new", values={
            "vendor": request.GET.get("vendor", ""), "include_purchase_requests": "1"})
    else:
        state = form_state("create", request.POST)
        po = _po_create(request, state)
        if po is not None:
            messages.success(request, f"Purchase order {po.number} created.")
            return redirect("web:po", number=po.number)
    context = {"state": state, "vendors": Vendor.objects.order_by("code")}
    return page(request, context, "web/po_new.html", status=422 if state.failed else 200)


def _po_create(request: HttpRequest, state: FormState) -> PurchaseOrder | None:
    expected = _parse_date(state, "expected_date")
    if not state.values.get("vendor"):
        state.add("vendor", "Choose the vendor.")
    if state.failed:
        return None
    return attempt(request, state, lambda user: purchase_order_create(
        user=user, vendor=state.values["vendor"],
        include_purchase_requests=checked(state, "include_purchase_requests"),
        include_reorder=checked(state, "include_reorder"), expected_date=expected),
        targets=lambda po: {"purchase_order": po})


def _parse_date(state: FormState, name: str) -> datetime.date | None:
    text = state.values.get(name, "").strip()
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        state.add(name, f"'{text}' is not a date; use the form 2026-05-31.")
        return None


@login_required
def po_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in POStatus.values:
        status = ""
    context = {"page_obj": paginate(request, selectors.purchase_orders_list(status)),
               "status": status, "statuses": POStatus.choices,
               "query": query_without_page(request)}
    return page(request, context, "web/po_list.html")


def _po_or_404(number: str) -> PurchaseOrder:
    try:
        return selectors.purchase_order_for_page(number)
    except NotFound as error:
        raise Http404(error.detail) from None


@login_required
def po_detail(request: HttpRequest, number: str) -> HttpResponse:
    return _po_page(request, _po_or_404(number), FormState())


def _po_page(request: HttpRequest, po: PurchaseOrder, state: FormState) -> HttpResponse:
    failed_op, _, failed_line = state.name.rpartition("-")
    context = {
        "po": po, "lines": selectors.po_lines_with_coverage(po), "state": state,
        "failed_line": id_value(failed_line),
        "failed_op": failed_op, "draft": po.status == POStatus.DRAFT,
        "events": po.events.select_related("user").order_by("id"),
        "receipts": po.receipts.order_by("id"),
        "printing": request.GET.get("print") == "1",
    }
    return page(request, context, "web/po.html", status=422 if state.failed else 200)


@login_required
@require_POST
def po_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    po = _po_or_404(number)
    handler = PO_ACTIONS.get(action)
    if handler is None:
        raise Http404(f"Unknown purchase order action '{action}'.")
    state = form_state(action, request.POST)
    return _run(request, po, state, handler(state, po.number))


@login_required
@require_POST
def po_line_action(request: HttpRequest, number: str, line_id: int,
                   action: str) -> HttpResponse:
    po = _po_or_404(number)
    handler = PO_LINE_ACTIONS.get(action)
    if handler is None or not po.lines.filter(pk=line_id).exists():
        raise Http404(f"Unknown action '{action}' or line {line_id}.")
    state = form_state(f"{action}-{line_id}", request.POST)
    return _run(request, po, state, handler(state, po.number, line_id))


def _run(request: HttpRequest, po: PurchaseOrder, state: FormState,
         call: Call | None) -> HttpResponse:
    done = None
    if call is not None and not state.failed:
        done = attempt(request, state, call, targets=lambda _: {"purchase_order": po},
                       fields={"line.sku": "sku", "line.quantity": "quantity",
                               "line.cost": "cost"})
    if done is None:
        po.refresh_from_db()
        return _po_page(request, po, state)
    messages.success(request, done)
    return redirect("web:po", number=po.number)


def add_line(state: FormState, number: str) -> Call | None:
    quantity = parse_quantity(state, "quantity")
    cost = parse_amount(state, "cost", required=False)
    sku = state.values.get("sku", "").strip()
    if not sku:
        state.add("sku", "Enter the SKU of the item to order.")
    if quantity is None or not sku:
        return None
    spec = POLineInput(sku=sku, quantity=quantity, cost=cost)

    def call(user) -> str:
        purchase_order_add_line(user=user, number=number, line=spec)
        return f"Added {quantity} × {sku}."
    return call


def submit(state: FormState, number: str) -> Call | None:
    def call(user) -> str:
        purchase_order_submit(user=user, number=number)
        return f"Purchase order {number} submitted."
    return call


def cancel(state: FormState, number: str) -> Call | None:
    def call(user) -> str:
        purchase_order_cancel(user=user, number=number, reason=state.values.get("reason", ""))
        return f"Purchase order {number} cancelled; its customer requests need ordering again."
    return call


PO_ACTIONS: dict[str, Callable[[FormState, str], Call | None]] = {
    "add-line": add_line, "submit": submit, "cancel": cancel,
}


def update_line(state: FormState, number: str, line_id: int) -> Call | None:
    quantity = parse_quantity(state, "quantity", minimum=0)
    cost = parse_amount(state, "cost")
    if quantity is None or cost is None:
        return None

    def call(user) -> str:
        purchase_order_line_update(user=user, number=number, line_id=line_id,
                                   quantity=quantity, cost=cost)
        return "Line saved."
    return call


def cancel_line(state: FormState, number: str, line_id: int) -> Call | None:
    def call(user) -> str:
        purchase_order_line_cancel(user=user, number=number, line_id=line_id)
        return "Line cancelled; the customers it covered need ordering again."
    return call


PO_LINE_ACTIONS: dict[str, Callable[[FormState, str, int], Call | None]] = {
    "update": update_line, "cancel": cancel_line,
}

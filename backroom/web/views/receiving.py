"""Receiving: choose a submitted PO, enter the quantities, "Save", see the notices."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from backroom.core.errors import BackroomError, NotFound
from backroom.purchasing.models import PurchaseOrder, Receipt
from backroom.purchasing.services import ReceiveLineInput, purchase_order_receive
from backroom.web import selectors
from backroom.web.approval import ApprovalNeeded, guarded
from backroom.web.forms import FormState, checked, form_state, id_value, parse_quantity
from backroom.web.views.common import page, paginate, query_without_page


@login_required
def receiving(request: HttpRequest) -> HttpResponse:
    context = {"page_obj": paginate(request, selectors.receivable_purchase_orders()),
               "query": query_without_page(request),
               "receipts": Receipt.objects.select_related("purchase_order__vendor")
               .order_by("-id")[:20]}
    return page(request, context, "web/receiving.html")


@login_required
@require_http_methods(["GET", "POST"])
def receive(request: HttpRequest, number: str) -> HttpResponse:
    try:
        po = selectors.purchase_order_for_page(number)
    except NotFound as error:
        raise Http404(error.detail) from None
    lines = selectors.po_lines_with_coverage(po)
    state = FormState(name="receive")
    if request.method == "POST":
        state = form_state("receive", request.POST)
        receipt = _receive(request, state, po, lines)
        if receipt is not None:
            return redirect("web:receipt", number=receipt.number)
    for line in lines:
        line.typed = state.values.get(f"receive-{line.pk}", "")  # type: ignore[attr-defined]
        line.error = state.errors.get(f"receive-{line.pk}", "")  # type: ignore[attr-defined]
        line.close = checked(state, f"close-{line.pk}")  # type: ignore[attr-defined]
        line.codes = " ".join(  # type: ignore[attr-defined]
            [line.item.sku] + [code.code for code in line.item.barcodes.all()])
    context = {"po": po, "lines": lines, "state": state}
    return page(request, context, "web/receive.html", status=422 if state.failed else 200)


def _receive(request: HttpRequest, state: FormState, po: PurchaseOrder,
             lines: list) -> Receipt | None:
    specs = []
    for line in lines:
        quantity = parse_quantity(state, f"receive-{line.pk}", minimum=0, required=False)
        close = checked(state, f"close-{line.pk}")
        if quantity or close:
            specs.append(ReceiveLineInput(line_id=line.pk, quantity=quantity or 0,
                                          close_short=close))
    if state.failed:
        return None
    if not specs:
        state.message = "Enter the units received on at least one line, or close a line short."
        return None
    try:
        return guarded(request, "save", lambda user: purchase_order_receive(
            user=user, number=po.number, lines=specs), targets=lambda _: {"purchase_order": po})
    except ApprovalNeeded as needed:
        state.approval = needed.approval
    except BackroomError as error:
        index = _error_index(error.field)
        if index is not None and index < len(specs):
            state.add(f"receive-{specs[index].line_id}", error.detail)
        else:
            state.message = error.detail
    return None


def _error_index(field: str | None) -> int | None:
    """Return the line index in a field name such as 'lines[2].quantity', or None."""
    if not field or not field.startswith("lines["):
        return None
    number = field[len("lines["):].split("]", 1)[0]
    return id_value(number)


@login_required
def receipt_detail(request: HttpRequest, number: str) -> HttpResponse:
    receipt = (Receipt.objects.select_related("purchase_order__vendor", "user")
               .filter(number=number).first())
    if receipt is None:
        raise Http404(f"Receipt '{number}' not found.")
    context = {"receipt": receipt, "notices": selectors.receipt_notices(receipt.pk),
               "lines": receipt.lines.select_related("item").order_by("id")}
    return page(request, context, "web/receipt.html")

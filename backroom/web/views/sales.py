"""The sales & order screen: type, customer, lines, totals, then "Finalize" and "Save"."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from backroom.catalog.selectors import item_search
from backroom.core.errors import BackroomError
from backroom.core.models import StoreSettings
from backroom.customers.models import Customer
from backroom.customers.services import customer_create
from backroom.sales.models import Order, OrderType, Tender
from backroom.sales.services import line_back_order, order_create
from backroom.web.approval import ApprovalNeeded, guarded
from backroom.web.forms import FormState, form_state, id_value
from backroom.web.sales_form import (
    PLAN_ORDER,
    SalesForm,
    sales_form_compute,
    sales_form_parse,
)
from backroom.web.views.common import is_htmx, page

MAX_SUGGESTIONS = 8


@login_required
@require_http_methods(["GET", "POST"])
def sales(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        state = FormState(name="sales", values={"type": request.GET.get("type", "sales_order")})
        if request.GET.get("customer"):
            state.values["customer"] = request.GET["customer"]
        return _render(request, state, sales_form_parse(state), {})
    state = form_state("sales", request.POST)
    action = request.POST.get("action", "add")
    form = sales_form_parse(state)
    extra: dict = {}
    if action in ("save", "hold"):
        done = _save(request, state, form, hold=action == "hold")
        if done is not None:
            return done
        state.values["stage"] = "pay" if action == "save" else ""
    else:
        extra = _edit(request, state, form, action)
        form = sales_form_parse(state)
    return _render(request, state, form, extra)


def _edit(request: HttpRequest, state: FormState, form: SalesForm, action: str) -> dict:
    """Apply an editing action that writes nothing: add or remove lines, pick a customer."""
    extra: dict = {}
    if action == "remove":
        prefix = f"lines-{request.POST.get('line', '')}-"
        state.values = {k: v for k, v in state.values.items() if not k.startswith(prefix)}
    elif action == "choose_item":
        _line_append(state, form, request.POST.get("sku", ""))
    elif action == "custom_line":
        _custom_line_append(state, form)
    elif action == "choose_customer":
        state.values["customer"] = request.POST.get("customer_id", "")
        state.values["customer_query"] = ""
    elif action == "clear_customer":
        state.values["customer"] = ""
    elif action == "new_customer":
        _customer_quick_add(state)
    elif action == "add_tender":
        index = max((t.index for t in form.tenders), default=-1) + 1
        state.values[f"payments-{index}-tender"] = Tender.CARD
        state.values["stage"] = "pay"
    elif action == "finalize":
        _finalize_check(state, form)
    elif action == "back":
        state.values["stage"] = ""
    elif action == "add":
        extra["item_choices"] = _scan(state, form)
        extra["customer_choices"] = _customer_find(state)
    return extra


def _scan(state: FormState, form: SalesForm) -> list:
    """Add the item a scanned or typed SKU, barcode or description names."""
    query = state.values.get("q", "").strip()
    if not query:
        return []
    matches = list(item_search(query)[:MAX_SUGGESTIONS + 1])
    exact = [item for item in matches if item.sku.lower() == query.lower()]
    if len(matches) == 1 or exact:
        _line_append(state, form, (exact or matches)[0].sku)
        return []
    if not matches:
        state.add("q", f"No item has the SKU, barcode or description '{query}'.")
        return []
    return matches[:MAX_SUGGESTIONS]


def _line_append(state: FormState, form: SalesForm, sku: str) -> None:
    """Add one unit of an item: a line of the same item gets one more."""
    for line in form.lines:
        if line.sku == sku and line.item is not None:
            key = f"lines-{line.index}-quantity"
            state.values[key] = str((line.quantity or 0) + 1)
            state.values["q"] = ""
            return
    item = item_search(sku).filter(sku=sku).first()
    if item is None:
        state.add("q", f"No item has the SKU '{sku}'.")
        return
    prefix = f"lines-{form.next_line_index}-"
    state.values.update({prefix + "sku": item.sku, prefix + "quantity": "1",
                         prefix + "price": str(item.price), prefix + "discount": "0",
                         prefix + "plan": _proposed_plan(form, item.available, item.tracked)})
    state.values["q"] = ""


def _proposed_plan(form: SalesForm, available: int, tracked: bool) -> str:
    if form.order_type == OrderType.SALES_ORDER and tracked and available < 1:
        return PLAN_ORDER
    return form.default_plan()


def _custom_line_append(state: FormState, form: SalesForm) -> None:
    description = state.values.get("custom_description", "").strip()
    price = state.values.get("custom_price", "").strip()
    if not description:
        state.add("custom_description", "Describe the piece to make.")
    if not price:
        state.add("custom_price", "Enter the piece's price.")
    if not state.values.get("custom_vendor", "").strip():
        # A purchase request without a vendor can never join a purchase order.
        state.add("custom_vendor", "Enter the maker's vendor code, so the piece can be ordered.")
    if state.failed:
        return
    prefix = f"lines-{form.next_line_index}-"
    state.values.update({prefix + "sku": "", prefix + "description": description,
                         prefix + "price": price, prefix + "quantity": "1",
                         prefix + "discount": "0", prefix + "plan": PLAN_ORDER,
                         prefix + "vendor": state.values.get("custom_vendor", "").strip()})
    for key in ("custom_description", "custom_price", "custom_vendor"):
        state.values[key] = ""


def _customer_find(state: FormState) -> list[Customer]:
    query = state.values.get("customer_query", "").strip()
    if not query:
        return []
    found = list(Customer.objects.filter(is_walk_in=False).filter(
        Q(name__icontains=query) | Q(phone__icontains=query) | Q(email__icontains=query))
        .order_by("name")[:MAX_SUGGESTIONS])
    if len(found) == 1:
        state.values["customer"] = str(found[0].pk)
        state.values["customer_query"] = ""
        return []
    if not found:
        state.add("customer_query", f"No customer matches '{query}'; add them below.")
    return found


def _customer_quick_add(state: FormState) -> None:
    try:
        customer = customer_create(name=state.values.get("new_name", ""),
                                   email=state.values.get("new_email", ""),
                                   phone=state.values.get("new_phone", ""))
    except BackroomError as error:
        state.show(error, {"name": "new_name", "email": "new_email", "phone": "new_phone"})
        state.values["show_new_customer"] = "1"
        return
    state.values["customer"] = str(customer.pk)
    for key in ("new_name", "new_email", "new_phone", "customer_query", "show_new_customer"):
        state.values[key] = ""


def _finalize_check(state: FormState, form: SalesForm) -> None:
    """Open the payment panel when the lines are complete, proposing the deposit."""
    if not form.lines:
        state.add("q", "Add at least one item before finalizing.")
    _lines_check(state, form)
    _customer_check(state, form)
    if state.failed:
        return
    state.values["stage"] = "pay"
    if not any(tender.amount for tender in form.tenders):
        sales_form_compute(form, StoreSettings.load())
        state.values["payments-0-tender"] = form.tenders[0].tender if form.tenders else "cash"
        state.values["payments-0-amount"] = str(form.proposed_deposit)


def _lines_check(state: FormState, form: SalesForm) -> None:
    """Check the discounts and, for a sale, the stock the engine checks on saving."""
    for line in form.lines:
        prefix = f"lines-{line.index}-"
        if line.discount is not None and line.discount > 100:
            state.add(prefix + "discount",
                      f"Discount {line.discount}% is out of range; give 0 to 100.")
        available = line.available
        if (form.order_type == OrderType.SALE and available is not None
                and (line.quantity or 0) > available):
            state.add(prefix + "quantity",
                      f"Only {max(available, 0)} of {line.sku} '{line.description}' "
                      f"available; make this a sales order to back-order the rest.")


def _customer_check(state: FormState, form: SalesForm) -> None:
    """Require a named customer on every order type but a sale, as the engine does."""
    if form.order_type == OrderType.SALE:
        return
    customer_id = id_value(state.values.get("customer", ""))
    customer = Customer.objects.filter(pk=customer_id).first() if customer_id else None
    if customer is None or customer.is_walk_in:
        label = dict(OrderType.choices).get(form.order_type, "order").lower()
        state.add("customer_query", f"A {label} needs a named customer to tell when the "
                                    "goods arrive; choose or add the customer.")


def _save(request: HttpRequest, state: FormState, form: SalesForm,
          hold: bool) -> HttpResponse | None:
    """Create the order; return the redirect to it, or None with the errors in `state`."""
    if not form.lines:
        state.add("q", "Add at least one item before saving.")
    if state.failed:
        return None
    customer_id = id_value(state.values.get("customer", ""))
    order_lines = form.line_inputs()

    def create(user) -> Order:
        with transaction.atomic():
            order = order_create(
                user=user, order_type=form.order_type,
                customer_id=customer_id, lines=order_lines,
                payments=[] if hold else form.payment_inputs(), hold=hold)
            if not hold:
                _back_order_planned(user, order, form)
            return order

    try:
        order = guarded(request, "hold" if hold else "save", create,
                        targets=lambda created: {"order": created})
    except ApprovalNeeded as needed:
        state.approval = needed.approval
        return None
    except BackroomError as error:
        _show_error(state, form, error)
        return None
    messages.success(request, f"Order {order.number} saved: {order.get_status_display()}.")
    url = reverse("web:order", args=[order.number])
    return HttpResponseClientRedirect(url) if is_htmx(request) else redirect(url)


def _back_order_planned(user, order: Order, form: SalesForm) -> None:
    """Order from the vendor the in-stock units of lines the clerk marked "Order"."""
    planned = {position for position, line in enumerate(form.lines, start=1)
               if line.plan == PLAN_ORDER}
    for line in order.lines.filter(position__in=planned, ready__gt=0):
        line_back_order(user=user, number=order.number, line_id=line.pk, quantity=line.ready)
    order.refresh_from_db()


def _show_error(state: FormState, form: SalesForm, error: BackroomError) -> None:
    """Place a service error on the line, customer or tender field it names."""
    fields = {"customer": "customer_query", "type": "type"}
    for position, line in enumerate(form.lines):
        for name, form_name in (("quantity", "quantity"), ("unit_price", "price"),
                                ("discount_percent", "discount"), ("sku", "quantity"),
                                ("description", "quantity")):
            fields[f"lines[{position}].{name}"] = f"lines-{line.index}-{form_name}"
    state.values.setdefault("customer_query", "")
    for key in ("payments", "amount", "tender"):
        if form.tenders:
            fields[key] = f"payments-{form.tenders[0].index}-amount"
    state.show(error, fields)


def _render(request: HttpRequest, state: FormState, form: SalesForm,
            extra: dict) -> HttpResponse:
    store = StoreSettings.load()
    sales_form_compute(form, store)
    customer_id = id_value(state.values.get("customer", ""))
    customer = Customer.objects.filter(pk=customer_id).first() if customer_id else None
    context = {"form": form, "state": state, "store": store, "customer": customer,
               "order_types": OrderType.choices, "tenders": Tender.choices,
               "paying": state.values.get("stage") == "pay", **extra}
    template = "web/_sales_form.html" if is_htmx(request) else "web/sales.html"
    return page(request, context, template)

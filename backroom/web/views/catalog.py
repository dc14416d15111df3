"""Items (quantity buckets, stock adjustment) and vendors."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from backroom.catalog.models import Item, Vendor
from backroom.catalog.selectors import item_buckets, item_search
from backroom.catalog.services import (
    ItemInput,
    item_adjust_stock,
    item_create,
    item_validate,
    vendor_create,
)
from backroom.core.models import Event
from backroom.core.money import ZERO
from backroom.purchasing.models import PurchaseOrder
from backroom.web import selectors
from backroom.web.approval import attempt
from backroom.web.forms import FormState, checked, form_state, parse_amount, parse_quantity
from backroom.web.views.common import page, paginate, query_without_page


@login_required
@require_http_methods(["GET", "POST"])
def item_list(request: HttpRequest) -> HttpResponse:
    state = FormState(name="new", values={"taxable": "1", "tracked": "1"})
    if request.method == "POST":
        state = form_state("create", request.POST)
        created = _item_create(request, state)
        if created is not None:
            messages.success(request, f"Item {created.sku} created.")
            return redirect("web:item", sku=created.sku)
    query = request.GET.get("q", "").strip()
    context = {"page_obj": paginate(request, item_search(query)), "q": query,
               "query": query_without_page(request), "state": state,
               "vendors": Vendor.objects.order_by("code")}
    return page(request, context, "web/items.html", status=422 if state.failed else 200)


def _item_create(request: HttpRequest, state: FormState) -> Item | None:
    price = parse_amount(state, "price")
    cost = parse_amount(state, "cost", required=False)
    reorder_point = parse_quantity(state, "reorder_point", minimum=0, required=False)
    reorder_quantity = parse_quantity(state, "reorder_quantity", minimum=0, required=False)
    data = ItemInput(
        sku=state.values.get("sku", "").strip(), description=state.values.get("description", ""),
        price=price or ZERO, cost=cost, vendor=state.values.get("vendor") or None,
        vendor_sku=state.values.get("vendor_sku", "").strip(),
        category=state.values.get("category", "").strip(),
        barcode=state.values.get("barcode", "").strip() or None,
        taxable=checked(state, "taxable"), tracked=checked(state, "tracked"),
        reorder_point=reorder_point or 0, reorder_quantity=reorder_quantity or 0)
    if state.failed or price is None:
        # Show the engine's checks of the other fields too, so every error appears at once.
        for row in item_validate(data):
            state.add(row["field"], row["message"])
        return None
    return attempt(request, state, lambda user: item_create(user=user, data=data),
                   targets=lambda item: {"item": item})


@login_required
def item_detail(request: HttpRequest, sku: str) -> HttpResponse:
    return _item_page(request, sku, FormState(name="adjust"))


def _item_page(request: HttpRequest, sku: str, state: FormState) -> HttpResponse:
    item = Item.objects.select_related("vendor").filter(sku=sku).first()
    if item is None:
        raise Http404(f"Item '{sku}' not found.")
    context = {
        "item": item, "buckets": item_buckets(item), "state": state,
        "barcodes": item.barcodes.all(),
        "adjustments": item.adjustments.select_related("user").order_by("-id")[:20],
        "events": Event.objects.filter(item=item).select_related("user").order_by("-id")[:30],
        "waiting_lines": selectors.lines_list(selectors.ListFilter(
            status="waiting", item=item.sku)).filter(item=item, back_ordered__gt=0)[:50],
    }
    return page(request, context, "web/item.html", status=422 if state.failed else 200)


@login_required
@require_POST
def item_adjust(request: HttpRequest, sku: str) -> HttpResponse:
    state = form_state("adjust", request.POST)
    quantity = parse_quantity(state, "quantity", minimum=-1_000_000)
    if quantity is not None:
        item = attempt(request, state, lambda user: item_adjust_stock(
            user=user, sku=sku, quantity=quantity, reason=state.values.get("reason", "")),
            targets=lambda item: {"item": item})
        if item is not None:
            messages.success(request, f"Stock of {sku} adjusted by {quantity}.")
            return redirect("web:item", sku=sku)
    return _item_page(request, sku, state)


@login_required
@require_http_methods(["GET", "POST"])
def vendor_list(request: HttpRequest) -> HttpResponse:
    state = FormState(name="new", values={"lead_time_days": "7"})
    if request.method == "POST":
        state = form_state("create", request.POST)
        lead_time = parse_quantity(state, "lead_time_days", minimum=0)
        if not state.values.get("code", "").strip():
            state.add("code", "Enter the vendor code.")
        if not state.values.get("name", "").strip():
            state.add("name", "Enter the vendor's name.")
        vendor = None
        if not state.failed and lead_time is not None:
            vendor = attempt(request, state, lambda user: vendor_create(
                user=user, code=state.values.get("code", ""), name=state.values.get("name", ""),
                email=state.values.get("email", ""), lead_time_days=lead_time))
        if vendor is not None:
            messages.success(request, f"Vendor {vendor.code} created.")
            return redirect("web:vendor", code=vendor.code)
    context = {"page_obj": paginate(request, Vendor.objects.order_by("code")),
               "query": query_without_page(request), "state": state}
    return page(request, context, "web/vendors.html", status=422 if state.failed else 200)


@login_required
def vendor_detail(request: HttpRequest, code: str) -> HttpResponse:
    vendor = Vendor.objects.filter(code=code).first()
    if vendor is None:
        raise Http404(f"Vendor '{code}' not found.")
    context = {
        "vendor": vendor,
        "page_obj": paginate(request, vendor.items.order_by("sku")),
        "query": query_without_page(request),
        "requests": selectors.open_requests(vendor.pk)[:100],
        "purchase_orders": PurchaseOrder.objects.filter(vendor=vendor).order_by("-id")[:20],
    }
    return page(request, context, "web/vendor.html")

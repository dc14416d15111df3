"""Customers: search, add, edit; open orders, balance due, store credit, history."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from backroom.core.errors import BackroomError
from backroom.customers.models import Customer
from backroom.customers.services import customer_create, customer_update
from backroom.sales.models import OrderStatus
from backroom.web import selectors
from backroom.web.forms import FormState, checked, form_state
from backroom.web.views.common import page, paginate, query_without_page

OPEN_STATUSES = [OrderStatus.ON_HOLD, OrderStatus.WAITING, OrderStatus.READY]


@login_required
@require_http_methods(["GET", "POST"])
def customer_list(request: HttpRequest) -> HttpResponse:
    state = FormState(name="new", values={"notify": "1"})
    if request.method == "POST":
        state = form_state("new", request.POST)
        try:
            customer = customer_create(
                name=state.values.get("name", ""), email=state.values.get("email", ""),
                phone=state.values.get("phone", ""), notify=checked(state, "notify"))
        except BackroomError as error:
            state.show(error)
        else:
            messages.success(request, f"Customer {customer.name} added.")
            return redirect("web:customer", customer_id=customer.pk)
    query = request.GET.get("q", "").strip()
    customers = Customer.objects.filter(is_walk_in=False)
    if query:
        customers = customers.filter(Q(name__icontains=query) | Q(email__icontains=query)
                                     | Q(phone__icontains=query))
    context = {"page_obj": paginate(request, customers.order_by("name", "id")), "q": query,
               "query": query_without_page(request), "state": state}
    return page(request, context, "web/customers.html", status=422 if state.failed else 200)


@login_required
@require_http_methods(["GET", "POST"])
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise Http404(f"Customer {customer_id} not found.")
    state = FormState(name="edit", values={
        "name": customer.name, "email": customer.email, "phone": customer.phone,
        "notify": "1" if customer.notify else ""})
    if request.method == "POST":
        state = form_state("edit", request.POST)
        state.values.setdefault("notify", "")
        try:
            customer_update(customer_id=customer.pk, name=state.values.get("name", ""),
                            email=state.values.get("email", ""),
                            phone=state.values.get("phone", ""),
                            notify=checked(state, "notify"))
        except BackroomError as error:
            state.show(error)
        else:
            messages.success(request, "Customer saved.")
            return redirect("web:customer", customer_id=customer.pk)
    orders = customer.orders.order_by("-id")
    context = {
        "customer": customer, "state": state,
        "open_orders": orders.filter(status__in=OPEN_STATUSES)[:100],
        "balance_due": selectors.customer_balance_due(customer.pk),
        "page_obj": paginate(request, orders), "query": query_without_page(request),
        "credit_entries": customer.credit_entries.order_by("-id")[:20],
    }
    return page(request, context, "web/customer.html", status=422 if state.failed else 200)

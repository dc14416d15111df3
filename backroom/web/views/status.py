"""Order status lists: Waiting, Ready, Delivered, All pending, On hold, Voided; CSV export."""

import csv
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from backroom.sales.models import OrderType
from backroom.web import selectors
from backroom.web.selectors import ListFilter
from backroom.web.views.common import is_htmx, page, paginate, query_without_page

# An age filter takes at most five digits of days: 99,999 days is about 270 years.
MAX_AGE_DIGITS = 5

CSV_BATCH = 2000


def _filters(request: HttpRequest) -> tuple[ListFilter, dict[str, str]]:
    errors = {}
    status = request.GET.get("status", "waiting")
    if status not in {key for key, _, _ in selectors.STATUS_LISTS}:
        errors["status"] = f"Unknown list '{status}'; showing waiting orders."
        status = "waiting"
    age_text = request.GET.get("age", "").strip()
    age = None
    if age_text:
        if age_text.isascii() and age_text.isdigit() and len(age_text) <= MAX_AGE_DIGITS:
            age = int(age_text)
        else:
            errors["age"] = (f"'{age_text}' is not a whole number of days from 0 to "
                             f"{10 ** MAX_AGE_DIGITS - 1}.")
    order_type = request.GET.get("type", "")
    if order_type and order_type not in OrderType.values:
        errors["type"] = f"Unknown order type '{order_type}'; showing every type."
        order_type = ""
    filters = ListFilter(status=status, order_type=order_type,
                         customer=request.GET.get("customer", "").strip(),
                         item=request.GET.get("item", "").strip(),
                         vendor=request.GET.get("vendor", "").strip(), older_than_days=age,
                         sort=request.GET.get("sort", ""))
    return filters, errors


@login_required
def status_list(request: HttpRequest) -> HttpResponse:
    filters, errors = _filters(request)
    as_lines = request.GET.get("view") == "lines"
    rows = selectors.lines_list(filters) if as_lines else selectors.orders_list(filters)
    context = {
        "lists": selectors.STATUS_LISTS, "filters": filters, "errors": errors,
        "as_lines": as_lines, "page_obj": paginate(request, rows),
        "order_types": OrderType.choices,
        "query": query_without_page(request),
        "title": dict((key, title) for key, title, _ in selectors.STATUS_LISTS)[filters.status],
    }
    template = "web/_status_table.html" if is_htmx(request) else "web/status.html"
    return page(request, context, template)


@login_required
def status_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Stream the whole filtered list as CSV, read from the database in batches."""
    filters, _ = _filters(request)
    as_lines = request.GET.get("view") == "lines"
    rows = _line_rows(filters) if as_lines else _order_rows(filters)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in rows),
                                     content_type="text/csv")
    name = f"{filters.status}-{'lines' if as_lines else 'orders'}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


def _order_rows(filters: ListFilter) -> Iterator[list[str]]:
    yield ["order", "type", "status", "customer", "created", "total", "paid", "balance",
           "notified"]
    for order in selectors.orders_list(filters).iterator(chunk_size=CSV_BATCH):
        yield [order.number, order.type, order.status, order.customer.name,
               order.created_at.isoformat(), str(order.total), str(order.paid),
               str(order.total - order.paid),
               order.notified_at.isoformat() if order.notified_at else ""]


def _line_rows(filters: ListFilter) -> Iterator[list[str]]:
    yield ["order", "customer", "sku", "description", "vendor", "quantity", "delivered",
           "ready", "back_ordered", "cancelled", "status"]
    for line in selectors.lines_list(filters).iterator(chunk_size=CSV_BATCH):
        yield [line.order.number, line.order.customer.name, line.item.sku, line.description,
               line.item.vendor.code if line.item.vendor else "", str(line.quantity),
               str(line.delivered), str(line.ready), str(line.back_ordered),
               str(line.cancelled), line.status]

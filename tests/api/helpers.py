"""Shortcuts for driving the REST API in tests, and a check that a rejected request
changed nothing."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from backroom.catalog.models import Barcode, Item, StockAdjustment, Vendor
from backroom.catalog.selectors import item_buckets_many
from backroom.core.models import Event, IdempotencyKey, StoreSettings
from backroom.customers.models import Customer, StoreCreditEntry
from backroom.purchasing.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseRequest,
    Receipt,
    ReceiptLine,
    ReceivingNotice,
)
from backroom.sales.models import Order, OrderLine, Payment

PROBLEM_CONTENT_TYPE = "application/problem+json"

# Every table a request of the API can write, except API tokens, whose
# last-used time changes on each call.
STATE_MODELS = [
    StoreSettings, Vendor, Item, Barcode, StockAdjustment, Customer, StoreCreditEntry, Order,
    OrderLine, Payment, PurchaseRequest, PurchaseOrder, PurchaseOrderLine, Receipt, ReceiptLine,
    ReceivingNotice, Event, IdempotencyKey,
]


def expect(response, status: int = 200) -> Any:
    """Return the JSON body of a response that must have `status`."""
    assert response.status_code == status, response.content.decode()
    return response.json()


def pay(amount: str, tender: str = "cash", **extra: Any) -> dict[str, Any]:
    return {"amount": amount, "tender": tender, **extra}


def order_body(customer, lines: list, payments: list | tuple = (),
               order_type: str = "sales_order", **extra: Any) -> dict[str, Any]:
    """Build a POST /orders body. A line is a (sku, quantity) pair or a dict."""
    return {
        "type": order_type,
        "customer": getattr(customer, "pk", customer),
        "lines": [line if isinstance(line, dict) else {"sku": line[0], "quantity": line[1]}
                  for line in lines],
        "payments": list(payments),
        **extra,
    }


def order_create(api, customer, lines: list, payments: list | tuple = (),
                 order_type: str = "sales_order", **extra: Any) -> dict[str, Any]:
    return expect(api.post("/orders", order_body(customer, lines, payments, order_type,
                                                 **extra)), 201)


def order_get(api, number: str) -> dict[str, Any]:
    return expect(api.get(f"/orders/{number}"))


def status_of(api, order: dict[str, Any]) -> str:
    """Return the order's current status."""
    return order_get(api, order["number"])["status"]


def line_of(order: dict[str, Any], sku: str) -> dict[str, Any]:
    [line] = [line for line in order["lines"] if line["sku"] == sku]
    return line


def line_action(api, order: dict[str, Any], sku: str, action: str,
                body: dict[str, Any] | None = None):
    """POST to /orders/{number}/lines/{id}/{action} for the order's line of `sku`."""
    line_id = line_of(order, sku)["id"]
    return api.post(f"/orders/{order['number']}/lines/{line_id}/{action}", body)


def buckets(line: dict[str, Any]) -> dict[str, int]:
    return {name: line[name] for name in ("delivered", "ready", "back_ordered", "cancelled")}


def item_get(api, sku: str) -> dict[str, Any]:
    return expect(api.get(f"/items/{sku}"))


def stock(api, sku: str) -> dict[str, int]:
    """The item's on hand, reserved and available units."""
    item = item_get(api, sku)
    return {name: item[name] for name in ("on_hand", "reserved", "available")}


def deliver(api, number: str, lines: list[tuple[int, int]] | None = None,
            payments: list | tuple = ()):
    body: dict[str, Any] = {"payments": list(payments)}
    if lines is not None:
        body["lines"] = [{"id": line_id, "quantity": quantity} for line_id, quantity in lines]
    return api.post(f"/orders/{number}/deliveries", body)


def adjust(api, sku: str, quantity: int, reason: str = "count") -> dict[str, Any]:
    return expect(api.post(f"/items/{sku}/adjustments", {"quantity": quantity,
                                                         "reason": reason}))


def set_settings(api, **changes: str) -> dict[str, Any]:
    return expect(api.patch("/settings", changes))


def requests_of(api, **filters: Any) -> list[dict[str, Any]]:
    return expect(api.get("/purchase-requests", limit=500, **filters))["items"]


def po_create(api, vendor: str = "V", include: bool = True, lines: list | None = None,
              **extra: Any) -> dict[str, Any]:
    body = {"vendor": vendor, "include_purchase_requests": include,
            "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines or []],
            **extra}
    return expect(api.post("/purchase-orders", body), 201)


def po_submit(api, number: str) -> dict[str, Any]:
    return expect(api.post(f"/purchase-orders/{number}/submit"))


def po_line_of(po: dict[str, Any], sku: str) -> dict[str, Any]:
    [line] = [line for line in po["lines"] if line["sku"] == sku]
    return line


def po_submitted(api, vendor: str = "V", include: bool = True,
                 lines: list | None = None) -> dict[str, Any]:
    """Create a PO, submit it and return it."""
    return po_submit(api, po_create(api, vendor, include, lines)["number"])


def receive_body(*lines: tuple) -> dict[str, Any]:
    """Build a receipt body. A line is (PO line id, quantity) or (id, quantity, close_short)."""
    return {"lines": [{"id": line[0], "quantity": line[1],
                       "close_short": line[2] if len(line) > 2 else False}
                      for line in lines]}


def receive(api, po_number: str, *lines: tuple) -> dict[str, Any]:
    return expect(api.post(f"/purchase-orders/{po_number}/receipts", receive_body(*lines)),
                  201)


def assert_problem(response, status: int, code: str) -> dict[str, Any]:
    """Check that a response is a problem+json error with this status and code."""
    assert response.status_code == status, response.content.decode()
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == code, body
    return body


def store_state() -> dict[str, list[dict[str, Any]]]:
    return {model.__name__: list(model.objects.order_by("pk").values())
            for model in STATE_MODELS}


@contextmanager
def nothing_changes() -> Iterator[None]:
    """Check that the block leaves every table of the store as it found it."""
    before = store_state()
    yield
    after = store_state()
    changed = [name for name in before if before[name] != after[name]]
    assert changed == [], {name: {"before": before[name], "after": after[name]}
                           for name in changed}


def bucket_violations() -> list[str]:
    """List the items whose record buckets do not add up as the item record defines them.

    back-ordered = requested for customers + on order for customers, and each
    bucket is the sum of its customer and stock parts.
    """
    problems = []
    items = list(Item.objects.order_by("pk"))
    buckets_by_item = item_buckets_many(items)
    for item in items:
        buckets = buckets_by_item[item.pk]
        sums = {
            "available": (buckets.available, buckets.on_hand - buckets.reserved),
            "requested": (buckets.requested,
                          buckets.requested_for_customers + buckets.requested_for_stock),
            "on_order": (buckets.on_order,
                         buckets.on_order_for_customers + buckets.on_order_for_stock),
            "back_ordered": (buckets.back_ordered,
                             buckets.requested_for_customers + buckets.on_order_for_customers),
        }
        for name, (value, expected) in sums.items():
            if value != expected:
                problems.append(f"item {item.sku}: {name} {value}, its parts add to {expected}")
        negative = [name for name, value in vars(buckets).items() if value < 0]
        if negative:
            problems.append(f"item {item.sku}: negative {', '.join(negative)}")
    return problems

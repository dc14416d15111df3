"""Permissions: every guarded action returns 403 to a user without its permission
and changes nothing."""

import pytest

from .helpers import (
    assert_problem,
    expect,
    line_of,
    nothing_changes,
    order_create,
    pay,
    po_create,
    po_line_of,
    po_submitted,
    receive_body,
)

SALE_BELOW_PRICE = {"type": "sale", "customer": None,
                    "lines": [{"sku": "A", "quantity": 1, "unit_price": "3.00"}],
                    "payments": [{"amount": "3.00", "tender": "cash"}]}

# Rows of (permission, method, path, body). The path names keys of the `rows` fixture.
GUARDED = [
    ("void", "post", "/orders/{order}/void", {"refund": "none", "reason": "mistake"}),
    ("void", "post", "/orders/{order}/payments/{payment}/void", {"reason": "mistake"}),
    ("refund", "post", "/orders/{order}/refunds", {"amount": "1.00", "reason": "goodwill"}),
    ("refund", "post", "/orders/{order}/lines/{card_line}/cancel",
     {"quantity": 1, "refund": "original_tender"}),
    ("set_priority", "post", "/orders/{order}/priority", {"priority": 1}),
    ("change_price", "post", "/orders", SALE_BELOW_PRICE),
    ("change_price", "post", "/orders/{order}/lines",
     {"sku": "A", "quantity": 1, "discount_percent": "10"}),
    ("manage_purchasing", "post", "/purchase-orders",
     {"vendor": "V", "include_purchase_requests": True}),
    ("manage_purchasing", "post", "/purchase-orders/{draft}/lines", {"sku": "A", "quantity": 1}),
    ("manage_purchasing", "patch", "/purchase-orders/{draft}/lines/{draft_line}",
     {"quantity": 2}),
    ("manage_purchasing", "post", "/purchase-orders/{draft}/lines/{draft_line}/cancel", {}),
    ("manage_purchasing", "post", "/purchase-orders/{draft}/submit", {}),
    ("manage_purchasing", "post", "/purchase-orders/{submitted}/cancel", {"reason": "late"}),
    ("manage_purchasing", "post", "/purchase-requests", {"sku": "B", "quantity": 2}),
    ("adjust_stock", "post", "/items/A/adjustments", {"quantity": 1, "reason": "count"}),
    ("manage_catalog", "post", "/items", {"sku": "N", "description": "new", "price": "1.00"}),
    ("manage_catalog", "post", "/vendors", {"code": "N", "name": "New vendor"}),
    ("manage_settings", "patch", "/settings", {"cash_rounding": "0.05"}),
]


@pytest.fixture
def rows(api, customer, card, scarf):
    """Create, as the owner, an order paid by card, a draft PO and a submitted PO."""
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("34.00", "card")])
    submitted = po_submitted(api)
    draft = po_create(api, include=False, lines=[("A", 5)])
    return {"order": order["number"], "payment": order["payments"][0]["id"],
            "card_line": line_of(order, "A")["id"], "draft": draft["number"],
            "draft_line": po_line_of(draft, "A")["id"], "submitted": submitted["number"],
            "submitted_line": po_line_of(submitted, "B")["id"]}


@pytest.mark.parametrize(("permission", "method", "path", "body"), GUARDED,
                         ids=[f"{method} {path}" for _, method, path, _ in GUARDED])
def test_clerk_lacks_permission(clerk_api, rows, permission, method, path, body):
    send = getattr(clerk_api, method)

    with nothing_changes():
        response = send(path.format(**rows), body)

    problem = assert_problem(response, 403, "permission_denied")
    assert problem["data"]["permission"] == permission


def test_receiving_needs_permission(guest_api, rows):
    body = receive_body((rows["submitted_line"], 1))

    with nothing_changes():
        response = guest_api.post(f"/purchase-orders/{rows['submitted']}/receipts", body)

    problem = assert_problem(response, 403, "permission_denied")
    assert problem["data"]["permission"] == "receive"


def test_clerk_receives_goods(clerk_api, rows):
    response = clerk_api.post(f"/purchase-orders/{rows['submitted']}/receipts",
                              receive_body((rows["submitted_line"], 1)))

    assert response.status_code == 201


def test_supervisor_cannot_order_from_vendor(supervisor_api, rows):
    with nothing_changes():
        response = supervisor_api.post("/purchase-orders", {"vendor": "V"})

    assert_problem(response, 403, "permission_denied")


def test_supervisor_refunds(supervisor_api, rows):
    order = expect(supervisor_api.post(f"/orders/{rows['order']}/refunds",
                                       {"amount": "1.00", "reason": "goodwill"}))

    assert order["paid"] == "33.00"


def test_manager_changes_settings(manager_api, store):
    settings = expect(manager_api.patch("/settings", {"cash_rounding": "0.05"}))

    assert settings["cash_rounding"] == "0.05"

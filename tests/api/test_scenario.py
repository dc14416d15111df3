"""The help article's flow, step by step through HTTP, and its variants.

Data: vendor V, customer C, item A "birthday card" (on hand 10, 4.00) and
item B "blue scarf" (on hand 0, 30.00, cost 15.00, vendor V), no tax.
"""

import pytest

from .helpers import (
    assert_problem,
    buckets,
    deliver,
    expect,
    item_get,
    line_of,
    nothing_changes,
    order_body,
    order_create,
    order_get,
    pay,
    po_create,
    po_line_of,
    receive,
    requests_of,
    stock,
)


@pytest.fixture
def step1(api, customer, card, scarf, django_capture_on_commit_callbacks):
    """Step 1: a sales order for C with 1 × A and 1 × B, paid 34.00 cash."""
    return order_create(api, customer, [("A", 1), ("B", 1)], [pay("34.00")])


@pytest.fixture
def step2(api, step1):
    """Step 2: A is handed over."""
    return expect(deliver(api, step1["number"], [(line_of(step1, "A")["id"], 1)]))


@pytest.fixture
def step3(api, step2):
    """Step 3: a PO for V with every open purchase request of V."""
    return po_create(api, "V", include=True)


@pytest.fixture
def step4(api, step3, django_capture_on_commit_callbacks):
    """Step 4: the PO is submitted and B × 1 received."""
    expect(api.post(f"/purchase-orders/{step3['number']}/submit"))
    with django_capture_on_commit_callbacks(execute=True):
        return receive(api, step3["number"], (po_line_of(step3, "B")["id"], 1))


def test_step1_order_waits_fully_paid(step1):
    assert step1["status"] == "waiting"
    assert step1["total"] == "34.00"
    assert step1["paid"] == "34.00"
    assert step1["balance"] == "0.00"


def test_step1_reserves_card_and_back_orders_scarf(step1):
    assert buckets(line_of(step1, "A")) == {"delivered": 0, "ready": 1, "back_ordered": 0,
                                            "cancelled": 0}
    assert buckets(line_of(step1, "B")) == {"delivered": 0, "ready": 0, "back_ordered": 1,
                                            "cancelled": 0}
    assert line_of(step1, "A")["status"] == "ready"
    assert line_of(step1, "B")["status"] == "waiting"


def test_step1_requests_one_scarf_for_customer(api, step1, customer):
    requests = requests_of(api, sku="B")

    assert len(requests) == 1
    assert requests[0]["quantity"] == 1
    assert requests[0]["vendor"] == "V"
    assert requests[0]["status"] == "open"
    assert requests[0]["order"] == step1["number"]
    assert requests[0]["customer"] == customer.name


def test_step1_item_buckets(api, step1):
    card = item_get(api, "A")
    scarf = item_get(api, "B")

    assert (card["on_hand"], card["reserved"], card["available"]) == (10, 1, 9)
    assert scarf["requested"] == 1
    assert scarf["requested_for_customers"] == 1
    assert scarf["on_order"] == 0
    assert scarf["back_ordered"] == 1


def test_step2_back_order_item_not_needed_for_scarf(api, step1):
    """"Back order item" moves ready units. The scarf has none, so it is rejected."""
    line = line_of(step1, "B")

    with nothing_changes():
        response = api.post(f"/orders/{step1['number']}/lines/{line['id']}/back-order",
                            {"quantity": 1})

    assert_problem(response, 422, "validation_error")


def test_step2_hand_over_card(api, step2):
    assert buckets(line_of(step2, "A")) == {"delivered": 1, "ready": 0, "back_ordered": 0,
                                            "cancelled": 0}
    assert step2["status"] == "waiting"
    assert stock(api, "A") == {"on_hand": 9, "reserved": 0, "available": 9}


def test_step3_po_line_covers_customer(api, step1, step3, customer):
    line = po_line_of(step3, "B")

    assert step3["status"] == "draft"
    assert len(step3["lines"]) == 1
    assert line["quantity"] == 1
    assert line["cost"] == "15.00"
    assert line["customer_requests"] == [{
        "request": requests_of(api, sku="B")[0]["id"], "order": step1["number"],
        "customer": customer.name, "quantity": 1}]


def test_step3_scarf_on_order_for_customer(api, step3):
    scarf = item_get(api, "B")

    assert scarf["requested"] == 0
    assert scarf["on_order"] == 1
    assert scarf["on_order_for_customers"] == 1
    assert scarf["back_ordered"] == 1


def test_step4_receipt_notice(step1, step3, step4, customer):
    [notice] = step4["notices"]

    assert step4["purchase_order"] == step3["number"]
    assert step4["lines"][0]["sku"] == "B"
    assert step4["lines"][0]["quantity"] == 1
    assert notice["order"] == step1["number"]
    assert notice["customer"] == customer.name
    assert notice["sku"] == "B"
    assert notice["quantity"] == 1
    assert notice["order_status"] == "ready"
    assert notice["message"] == f"1 × blue scarf for {customer.name}, order #{step1['number']}"


def test_step4_order_ready_and_customer_notified(api, step1, step4, mailoutbox):
    order = order_get(api, step1["number"])

    assert buckets(line_of(order, "B")) == {"delivered": 0, "ready": 1, "back_ordered": 0,
                                            "cancelled": 0}
    assert order["status"] == "ready"
    assert order["notified_at"] is not None
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["c@example.com"]


def test_step4_scarf_reserved(api, step4):
    scarf = item_get(api, "B")

    assert (scarf["on_hand"], scarf["reserved"], scarf["available"]) == (1, 1, 0)
    assert scarf["on_order"] == 0
    assert scarf["requested"] == 0
    assert scarf["back_ordered"] == 0


def test_step4_request_fulfilled(api, step4):
    [request] = requests_of(api, sku="B")

    assert request["status"] == "fulfilled"


def test_step5_hand_over_scarf(api, step1, step4):
    order = expect(deliver(api, step1["number"]))

    assert order["status"] == "delivered"
    assert order["balance"] == "0.00"
    assert line_of(order, "B")["delivered"] == 1
    assert stock(api, "B") == {"on_hand": 0, "reserved": 0, "available": 0}


# ---------------------------------------------------------------- variants


def test_default_deposit_collects_balance_at_hand_over(api, clerk_api, customer, card, scarf):
    order = order_create(clerk_api, customer, [("A", 1), ("B", 1)], [pay("8.50")])
    number = order["number"]
    expect(deliver(clerk_api, number, [(line_of(order, "A")["id"], 1)]))
    po = po_create(api)
    expect(api.post(f"/purchase-orders/{po['number']}/submit"))
    receive(api, po["number"], (po_line_of(po, "B")["id"], 1))

    with nothing_changes():
        rejected = deliver(clerk_api, number)
    delivered = expect(deliver(clerk_api, number, payments=[pay("25.50")]))

    assert order["paid"] == "8.50"
    assert order["balance"] == "25.50"
    assert assert_problem(rejected, 409, "balance_due")["data"]["amount_due"] == "25.50"
    assert delivered["status"] == "delivered"
    assert delivered["paid"] == "34.00"
    assert delivered["balance"] == "0.00"


def test_special_order_back_orders_card_too(api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("34.00")],
                         order_type="special_order")

    assert order["status"] == "waiting"
    assert line_of(order, "A")["back_ordered"] == 1
    assert line_of(order, "A")["ready"] == 0
    assert line_of(order, "B")["back_ordered"] == 1
    assert stock(api, "A") == {"on_hand": 10, "reserved": 0, "available": 10}
    assert sorted((row["sku"], row["quantity"]) for row in requests_of(api)) == [
        ("A", 1), ("B", 1)]


def test_zero_deposit_rejected_for_clerk(clerk_api, customer, card, scarf):
    with nothing_changes():
        response = clerk_api.post("/orders", order_body(customer, [("A", 1), ("B", 1)]))

    assert_problem(response, 422, "deposit_below_minimum")


def test_zero_deposit_accepted_for_manager(manager_api, customer, card, scarf):
    order = order_create(manager_api, customer, [("A", 1), ("B", 1)])

    assert order["status"] == "waiting"
    assert order["paid"] == "0.00"
    assert order["balance"] == "34.00"


def test_void_before_purchase_order_undoes_everything(api, step1):
    order = expect(api.post(f"/orders/{step1['number']}/void",
                            {"refund": "original_tender", "reason": "customer changed mind"}))
    [payment, refund] = order["payments"]

    assert order["status"] == "cancelled"
    assert refund["kind"] == "refund"
    assert refund["amount"] == "34.00"
    assert refund["tender"] == "cash"
    assert order["paid"] == "0.00"
    assert order["balance"] == "0.00"
    assert stock(api, "A") == {"on_hand": 10, "reserved": 0, "available": 10}
    assert [row["status"] for row in requests_of(api, sku="B")] == ["cancelled"]
    assert item_get(api, "B")["requested"] == 0
    assert item_get(api, "B")["back_ordered"] == 0

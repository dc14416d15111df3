"""Stock that becomes available (an adjustment, a return, a released reservation)
serves the oldest waiting back order first, and its request stops asking for
the unit."""

import pytest

from .helpers import (
    adjust,
    assert_problem,
    expect,
    item_get,
    line_action,
    nothing_changes,
    order_create,
    order_get,
    pay,
    po_create,
    po_line_of,
    po_submitted,
    receive,
    requests_of,
    status_of,
    stock,
)


@pytest.fixture
def two_waiting(api, customer, other_customer, scarf):
    """C, then D, each waiting for one scarf on no PO."""
    first = order_create(api, customer, [("B", 1)], [pay("30.00")])
    second = order_create(api, other_customer, [("B", 1)], [pay("30.00")])
    return first, second


def request_status(api, order: dict) -> str:
    [request] = [row for row in requests_of(api) if row["order"] == order["number"]]
    return request["status"]


def test_adjustment_serves_oldest_back_order(api, two_waiting):
    first, second = two_waiting

    adjust(api, "B", 1, "found in the back room")

    assert status_of(api, first) == "ready"
    assert status_of(api, second) == "waiting"
    assert request_status(api, first) == "cancelled"
    assert request_status(api, second) == "open"
    assert stock(api, "B") == {"on_hand": 1, "reserved": 1, "available": 0}


def test_adjustment_follows_priority(api, manager_api, two_waiting):
    first, second = two_waiting
    expect(manager_api.post(f"/orders/{second['number']}/priority", {"priority": 3}))

    adjust(api, "B", 1)

    assert status_of(api, second) == "ready"
    assert status_of(api, first) == "waiting"


def test_adjustment_surplus_stays_available(api, two_waiting):
    adjust(api, "B", 5)

    assert stock(api, "B") == {"on_hand": 5, "reserved": 2, "available": 3}
    assert item_get(api, "B")["back_ordered"] == 0
    assert item_get(api, "B")["requested"] == 0


def test_adjustment_makes_order_ready_and_notifies(api, customer, scarf, mailoutbox,
                                                   django_capture_on_commit_callbacks):
    order = order_create(api, customer, [("B", 1)], [pay("30.00")])

    with django_capture_on_commit_callbacks(execute=True):
        adjust(api, "B", 1)

    assert order_get(api, order["number"])["notified_at"] is not None
    assert len(mailoutbox) == 1


def test_adjustment_drops_request_from_draft_po(api, customer, scarf):
    order = order_create(api, customer, [("B", 1)], [pay("30.00")])
    po = po_create(api)

    adjust(api, "B", 1)
    line = po_line_of(expect(api.get(f"/purchase-orders/{po['number']}")), "B")

    assert status_of(api, order) == "ready"
    assert line["quantity"] == 0
    assert line["customer_requests"] == []
    assert item_get(api, "B")["on_order"] == 0


def test_adjustment_unlinks_request_on_submitted_po(api, customer, scarf):
    order = order_create(api, customer, [("B", 1)], [pay("30.00")])
    po = po_submitted(api)

    adjust(api, "B", 1)
    line = po_line_of(expect(api.get(f"/purchase-orders/{po['number']}")), "B")
    scarf_record = item_get(api, "B")

    assert status_of(api, order) == "ready"
    assert line["quantity"] == 1
    assert line["customer_requests"] == []
    assert scarf_record["on_order"] == 1
    assert scarf_record["on_order_for_customers"] == 0
    assert scarf_record["on_order_for_stock"] == 1


def test_unlinked_po_unit_arrives_to_stock(api, customer, scarf):
    order_create(api, customer, [("B", 1)], [pay("30.00")])
    po = po_submitted(api)
    adjust(api, "B", 1)

    receipt = receive(api, po["number"], (po_line_of(po, "B")["id"], 1))

    assert receipt["notices"] == []
    assert stock(api, "B") == {"on_hand": 2, "reserved": 1, "available": 1}


def test_negative_adjustment_beyond_available_rejected(api, customer, card):
    order_create(api, customer, [("A", 8)], [pay("32.00")])

    with nothing_changes():
        response = api.post("/items/A/adjustments", {"quantity": -3, "reason": "broken"})

    body = assert_problem(response, 409, "insufficient_stock")
    assert body["data"]["available"] == 2


def test_negative_adjustment_lowers_on_hand(api, card):
    item = adjust(api, "A", -3, "broken")

    assert (item["on_hand"], item["available"]) == (7, 7)


def test_return_serves_waiting_back_order(api, customer, make_item):
    make_item("X", on_hand=1)
    sale = order_create(api, None, [("X", 1)], [pay("10.00")], order_type="sale")
    waiting = order_create(api, customer, [("X", 1)], [pay("10.00")])

    returned = expect(line_action(api, sale, "X", "return",
                                  {"quantity": 1, "refund": "original_tender",
                                   "reason": "wrong colour"}))

    assert returned["lines"][0]["delivered"] == 0
    assert returned["lines"][0]["cancelled"] == 1
    assert returned["paid"] == "0.00"
    assert status_of(api, waiting) == "ready"
    assert request_status(api, waiting) == "cancelled"
    assert stock(api, "X") == {"on_hand": 1, "reserved": 1, "available": 0}


def test_return_without_waiting_order_restocks(api, card):
    sale = order_create(api, None, [("A", 2)], [pay("8.00")], order_type="sale")

    returned = expect(line_action(api, sale, "A", "return",
                                  {"quantity": 1, "refund": "original_tender"}))

    assert returned["total"] == "4.00"
    assert returned["paid"] == "4.00"
    assert stock(api, "A") == {"on_hand": 9, "reserved": 0, "available": 9}


def test_return_beyond_delivered_rejected(api, card):
    sale = order_create(api, None, [("A", 2)], [pay("8.00")], order_type="sale")

    with nothing_changes():
        response = line_action(api, sale, "A", "return", {"quantity": 3})

    assert_problem(response, 422, "validation_error")

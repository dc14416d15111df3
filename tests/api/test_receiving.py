"""Receiving: the allocation order, receiving notices, the ready notice,
over-receipt tolerance and close short."""

import pytest

from .helpers import (
    assert_problem,
    buckets,
    deliver,
    expect,
    item_get,
    line_of,
    nothing_changes,
    order_create,
    order_get,
    pay,
    po_create,
    po_line_of,
    po_submit,
    po_submitted,
    receive,
    receive_body,
    requests_of,
    set_settings,
    status_of,
    stock,
)


@pytest.fixture
def two_waiting(api, customer, other_customer, scarf):
    """C, then D, each waiting for one scarf on one submitted PO line of 2."""
    first = order_create(api, customer, [("B", 1)], [pay("30.00")])
    second = order_create(api, other_customer, [("B", 1)], [pay("30.00")])
    po = po_submitted(api)
    return first, second, po


@pytest.fixture
def older_request_off_po(api, customer, other_customer, scarf):
    """D waits on no PO with the older request. C waits on the second PO, a draft line of 1."""
    older = order_create(api, other_customer, [("B", 1)], [pay("30.00")])
    first_po = po_create(api)
    newer = order_create(api, customer, [("B", 1)], [pay("30.00")])
    second_po = po_create(api)
    expect(api.post(f"/purchase-orders/{first_po['number']}/cancel", {"reason": "late"}))
    return older, newer, second_po


def submit_with_quantity(api, po: dict, quantity: int) -> dict:
    line = po_line_of(po, "B")
    expect(api.patch(f"/purchase-orders/{po['number']}/lines/{line['id']}",
                     {"quantity": quantity}))
    return po_submit(api, po["number"])


def test_receipt_serves_oldest_request_first(api, two_waiting):
    first, second, po = two_waiting

    receipt = receive(api, po["number"], (po_line_of(po, "B")["id"], 1))

    assert status_of(api, first) == "ready"
    assert status_of(api, second) == "waiting"
    assert [notice["order"] for notice in receipt["notices"]] == [first["number"]]


def test_priority_goes_before_age(api, manager_api, two_waiting):
    first, second, po = two_waiting
    expect(manager_api.post(f"/orders/{second['number']}/priority", {"priority": 5}))

    receive(api, po["number"], (po_line_of(po, "B")["id"], 1))

    assert status_of(api, second) == "ready"
    assert status_of(api, first) == "waiting"


def test_own_po_line_goes_before_older_back_order(api, older_request_off_po):
    older, newer, po = older_request_off_po
    po = submit_with_quantity(api, po, 2)

    receive(api, po["number"], (po_line_of(po, "B")["id"], 1))

    assert status_of(api, newer) == "ready"
    assert status_of(api, older) == "waiting"


def test_receipt_then_serves_back_order_not_on_po(api, older_request_off_po):
    older, newer, po = older_request_off_po
    po = submit_with_quantity(api, po, 2)

    receipt = receive(api, po["number"], (po_line_of(po, "B")["id"], 2))
    statuses = {row["order"]: row["status"] for row in requests_of(api, sku="B")}

    assert [notice["order"] for notice in receipt["notices"]] == [newer["number"],
                                                                  older["number"]]
    assert status_of(api, older) == "ready"
    assert statuses[older["number"]] == "fulfilled"
    assert stock(api, "B") == {"on_hand": 2, "reserved": 2, "available": 0}


def test_receipt_rest_goes_to_stock(api, older_request_off_po):
    older, newer, po = older_request_off_po
    po = submit_with_quantity(api, po, 3)

    receive(api, po["number"], (po_line_of(po, "B")["id"], 3))

    assert stock(api, "B") == {"on_hand": 3, "reserved": 2, "available": 1}
    assert item_get(api, "B")["back_ordered"] == 0


def test_receipt_surplus_serves_back_order_on_other_po(api, customer, other_customer, scarf):
    """Units left after a receipt are stock that became available, so they serve a
    customer waiting on another submitted PO, whose request is unlinked: that PO's
    unit will go to stock when it arrives."""
    waiting = order_create(api, customer, [("B", 1)], [pay("30.00")])
    other_po = po_submitted(api)
    stock_po = po_submitted(api, include=False, lines=[("B", 1)])

    receive(api, stock_po["number"], (po_line_of(stock_po, "B")["id"], 1))
    other_line = po_line_of(expect(api.get(f"/purchase-orders/{other_po['number']}")), "B")

    assert status_of(api, waiting) == "ready"
    assert other_line["customer_requests"] == []
    assert other_line["quantity"] == 1


def test_receipt_fulfils_stock_request(api, customer, scarf):
    expect(api.post("/purchase-requests", {"sku": "B", "quantity": 4}), 201)
    order_create(api, customer, [("B", 1)], [pay("30.00")])
    po = po_submitted(api)

    receive(api, po["number"], (po_line_of(po, "B")["id"], 5))

    assert [(row["order"], row["status"]) for row in requests_of(api)] == [
        (None, "fulfilled"), (po["lines"][0]["customer_requests"][0]["order"], "fulfilled")]
    assert stock(api, "B") == {"on_hand": 5, "reserved": 1, "available": 4}


def test_each_served_unit_gets_notice(api, customer, scarf):
    order = order_create(api, customer, [("B", 2)], [pay("60.00")])
    po = po_submitted(api)
    line_id = po_line_of(po, "B")["id"]

    partial = receive(api, po["number"], (line_id, 1))
    rest = receive(api, po["number"], (line_id, 1))

    assert [(n["order"], n["quantity"], n["order_status"]) for n in partial["notices"]] == [
        (order["number"], 1, "waiting")]
    assert [(n["order"], n["quantity"], n["order_status"]) for n in rest["notices"]] == [
        (order["number"], 1, "ready")]


def test_receipt_read_back_with_notices(api, two_waiting):
    first, second, po = two_waiting
    receipt = receive(api, po["number"], (po_line_of(po, "B")["id"], 2))

    assert expect(api.get(f"/receipts/{receipt['number']}")) == receipt
    assert len(receipt["notices"]) == 2


def test_partial_receipt_keeps_order_waiting(api, customer, scarf):
    order = order_create(api, customer, [("B", 3)], [pay("90.00")])
    po = po_submitted(api)

    receive(api, po["number"], (po_line_of(po, "B")["id"], 2))
    after = order_get(api, order["number"])

    assert after["status"] == "waiting"
    assert buckets(line_of(after, "B")) == {"delivered": 0, "ready": 2, "back_ordered": 1,
                                            "cancelled": 0}
    assert expect(api.get(f"/purchase-orders/{po['number']}"))["status"] == "partially_received"


def test_customer_notified_once(api, customer, scarf, mailoutbox,
                                django_capture_on_commit_callbacks):
    order = order_create(api, customer, [("B", 1)], [pay("30.00")])
    line_id = line_of(order, "B")["id"]
    with django_capture_on_commit_callbacks(execute=True):
        first_po = po_submitted(api)
        receive(api, first_po["number"], (po_line_of(first_po, "B")["id"], 1))
    notified_at = order_get(api, order["number"])["notified_at"]

    with django_capture_on_commit_callbacks(execute=True):
        expect(api.post(f"/orders/{order['number']}/lines/{line_id}/back-order",
                        {"quantity": 1}))
        second_po = po_submitted(api)
        receive(api, second_po["number"], (po_line_of(second_po, "B")["id"], 1))
    after = order_get(api, order["number"])

    assert notified_at is not None
    assert after["status"] == "ready"
    assert after["notified_at"] == notified_at
    assert len(mailoutbox) == 1


def test_customer_without_consent_not_notified(api, make_customer, scarf, mailoutbox,
                                               django_capture_on_commit_callbacks):
    quiet = make_customer("Quiet Q", notify=False)
    order = order_create(api, quiet, [("B", 1)], [pay("30.00")])
    po = po_submitted(api)

    with django_capture_on_commit_callbacks(execute=True):
        receive(api, po["number"], (po_line_of(po, "B")["id"], 1))
    after = order_get(api, order["number"])

    assert after["status"] == "ready"
    assert after["notified_at"] is None
    assert mailoutbox == []


def test_over_receipt_rejected_without_tolerance(api, make_item):
    make_item("X")
    po = po_submitted(api, include=False, lines=[("X", 10)])
    body = receive_body((po_line_of(po, "X")["id"], 11))

    with nothing_changes():
        response = api.post(f"/purchase-orders/{po['number']}/receipts", body)

    problem = assert_problem(response, 409, "over_receipt")
    assert problem["data"]["limit"] == 10


def test_over_receipt_within_tolerance_goes_to_stock(api, make_item):
    make_item("X")
    set_settings(api, over_receipt_tolerance_percent="10")
    po = po_submitted(api, include=False, lines=[("X", 10)])

    receive(api, po["number"], (po_line_of(po, "X")["id"], 11))

    assert stock(api, "X") == {"on_hand": 11, "reserved": 0, "available": 11}
    assert expect(api.get(f"/purchase-orders/{po['number']}"))["status"] == "received"


def test_over_receipt_extra_serves_oldest_waiting(api, customer, other_customer, make_item):
    make_item("X")
    set_settings(api, over_receipt_tolerance_percent="10")
    covered = order_create(api, customer, [("X", 10)], [pay("100.00")])
    po = po_submitted(api)
    late = order_create(api, other_customer, [("X", 1)], [pay("10.00")])

    receive(api, po["number"], (po_line_of(po, "X")["id"], 11))

    assert status_of(api, covered) == "ready"
    assert status_of(api, late) == "ready"
    assert stock(api, "X") == {"on_hand": 11, "reserved": 11, "available": 0}


def test_over_receipt_beyond_tolerance_rejected(api, make_item):
    make_item("X")
    set_settings(api, over_receipt_tolerance_percent="10")
    po = po_submitted(api, include=False, lines=[("X", 10)])
    body = receive_body((po_line_of(po, "X")["id"], 12))

    with nothing_changes():
        response = api.post(f"/purchase-orders/{po['number']}/receipts", body)

    assert_problem(response, 409, "over_receipt")


def test_receiving_beyond_open_quantity_rejected(api, make_item):
    make_item("X")
    po = po_submitted(api, include=False, lines=[("X", 10)])
    line_id = po_line_of(po, "X")["id"]
    receive(api, po["number"], (line_id, 4))

    with nothing_changes():
        response = api.post(f"/purchase-orders/{po['number']}/receipts",
                            receive_body((line_id, 7)))

    assert_problem(response, 409, "over_receipt")


def test_po_line_given_twice_rejected(api, make_item):
    make_item("X")
    po = po_submitted(api, include=False, lines=[("X", 10)])
    line_id = po_line_of(po, "X")["id"]

    with nothing_changes():
        response = api.post(f"/purchase-orders/{po['number']}/receipts",
                            receive_body((line_id, 3), (line_id, 4)))

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"] == [{"field": "lines[1].id", "message": body["detail"]}]
    assert body["detail"] == (f"Line {line_id} is given twice. Give each line once, with all "
                              "the units received on it.")


def test_special_order_over_receipt_extra_to_stock(api, customer, make_item):
    """10 % of 5 units is half a unit, so the store allows 20 % here to take 6."""
    make_item("X")
    set_settings(api, over_receipt_tolerance_percent="20")
    order = order_create(api, customer, [("X", 5)], [pay("50.00")], order_type="special_order")
    po = po_submitted(api)

    receive(api, po["number"], (po_line_of(po, "X")["id"], 6))
    after = order_get(api, order["number"])
    line_id = line_of(after, "X")["id"]
    with nothing_changes():
        rejected = deliver(api, order["number"], [(line_id, 6)])

    assert po_line_of(po, "X")["quantity"] == 5
    assert buckets(line_of(after, "X")) == {"delivered": 0, "ready": 5, "back_ordered": 0,
                                            "cancelled": 0}
    assert stock(api, "X") == {"on_hand": 6, "reserved": 5, "available": 1}
    assert_problem(rejected, 409, "nothing_to_deliver")
    assert [row["status"] for row in requests_of(api, sku="X")] == ["fulfilled"]
    assert item_get(api, "X")["back_ordered"] == 0


def test_close_short_reopens_uncovered_requests(api, two_waiting):
    first, second, po = two_waiting

    receive(api, po["number"], (po_line_of(po, "B")["id"], 1, True))
    after = expect(api.get(f"/purchase-orders/{po['number']}"))
    reopened = requests_of(api, status="open")

    assert after["status"] == "received"
    assert po_line_of(after, "B")["closed_short"] is True
    assert status_of(api, first) == "ready"
    assert status_of(api, second) == "waiting"
    assert [(row["order"], row["needs_ordering"]) for row in reopened] == [
        (second["number"], True)]
    assert item_get(api, "B")["on_order"] == 0
    assert item_get(api, "B")["requested_for_customers"] == 1


def test_close_short_after_partial_receipt(api, two_waiting):
    first, second, po = two_waiting
    line_id = po_line_of(po, "B")["id"]
    receive(api, po["number"], (line_id, 1))

    receipt = receive(api, po["number"], (line_id, 0, True))
    [request] = requests_of(api, status="open")

    assert receipt["notices"] == []
    assert request["order"] == second["number"]
    assert request["needs_ordering"] is True
    assert expect(api.get(f"/purchase-orders/{po['number']}"))["status"] == "received"


def test_closed_short_line_takes_no_more(api, two_waiting):
    first, second, po = two_waiting
    line_id = po_line_of(po, "B")["id"]
    expect(api.post(f"/purchase-orders/{po['number']}/receipts",
                    receive_body((line_id, 1, True), )), 201)

    with nothing_changes():
        response = api.post(f"/purchase-orders/{po['number']}/receipts",
                            receive_body((line_id, 1)))

    assert_problem(response, 409, "invalid_state")


def test_draft_po_cannot_be_received(api, scarf):
    po = po_create(api, include=False, lines=[("B", 1)])

    with nothing_changes():
        response = api.post(f"/purchase-orders/{po['number']}/receipts",
                            receive_body((po_line_of(po, "B")["id"], 1)))

    assert_problem(response, 409, "invalid_state")


def test_receipt_of_many_lines(api, customer, scarf, make_item):
    """One receipt of three lines: one serves a customer, two only fill stock requests."""
    make_item("C")
    make_item("D")
    expect(api.post("/purchase-requests", {"sku": "C", "quantity": 3}), 201)
    expect(api.post("/purchase-requests", {"sku": "D", "quantity": 2}), 201)
    order = order_create(api, customer, [("B", 1)], [pay("30.00")])
    po = po_submitted(api)

    receipt = receive(api, po["number"], (po_line_of(po, "B")["id"], 1),
                      (po_line_of(po, "C")["id"], 3), (po_line_of(po, "D")["id"], 1))

    assert [(line["sku"], line["quantity"]) for line in receipt["lines"]] == [
        ("B", 1), ("C", 3), ("D", 1)]
    assert [(notice["order"], notice["quantity"]) for notice in receipt["notices"]] == [
        (order["number"], 1)]
    assert status_of(api, order) == "ready"
    assert stock(api, "B") == {"on_hand": 1, "reserved": 1, "available": 0}
    assert stock(api, "C") == {"on_hand": 3, "reserved": 0, "available": 3}
    assert stock(api, "D") == {"on_hand": 1, "reserved": 0, "available": 1}
    statuses = {(row["sku"], row["order"]): (row["status"], row["quantity"])
                for row in requests_of(api)}
    assert statuses[("C", None)] == ("fulfilled", 0)
    assert statuses[("D", None)] == ("on_order", 1)
    assert statuses[("B", order["number"])][0] == "fulfilled"
    po_after = expect(api.get(f"/purchase-orders/{po['number']}"))
    assert po_after["status"] == "partially_received"
    assert {line["sku"]: line["received"] for line in po_after["lines"]} == {
        "B": 1, "C": 3, "D": 1}

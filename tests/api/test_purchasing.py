"""Purchasing: open requests by vendor, POs that include them, requests for
stock, draft edits, submit and cancel."""

from .helpers import (
    assert_problem,
    expect,
    item_get,
    line_action,
    line_of,
    nothing_changes,
    order_create,
    order_get,
    pay,
    po_create,
    po_line_of,
    po_submitted,
    requests_of,
)


def test_open_requests_listed_by_vendor(api, customer, scarf, make_item, other_vendor):
    make_item("Y", vendor=other_vendor)
    order = order_create(api, customer, [("B", 1), ("Y", 1)], [pay("40.00")])

    listed = requests_of(api, vendor="V", status="open")

    assert [(row["sku"], row["quantity"], row["order"], row["customer"]) for row in listed] == [
        ("B", 1, order["number"], customer.name)]


def test_po_line_sums_requests_of_item(api, customer, other_customer, scarf, make_item):
    make_item("X")
    first = order_create(api, customer, [("B", 1), ("X", 1)], [pay("40.00")])
    second = order_create(api, other_customer, [("B", 2)], [pay("60.00")])

    po = po_create(api)
    scarves = po_line_of(po, "B")

    assert [line["sku"] for line in po["lines"]] == ["B", "X"]
    assert scarves["quantity"] == 3
    assert [(row["order"], row["customer"], row["quantity"])
            for row in scarves["customer_requests"]] == [
        (first["number"], customer.name, 1), (second["number"], other_customer.name, 2)]
    assert po_line_of(po, "X")["quantity"] == 1


def test_po_leaves_other_vendor_requests(api, customer, scarf, make_item, other_vendor):
    make_item("Y", vendor=other_vendor)
    order_create(api, customer, [("B", 1), ("Y", 1)], [pay("40.00")])

    po = po_create(api, "V")

    assert [line["sku"] for line in po["lines"]] == ["B"]
    assert [row["status"] for row in requests_of(api, sku="Y")] == ["open"]


def test_po_without_requests_leaves_them_open(api, customer, scarf):
    order_create(api, customer, [("B", 1)], [pay("30.00")])

    po = po_create(api, include=False, lines=[("B", 2)])

    assert po_line_of(po, "B")["customer_requests"] == []
    assert [row["status"] for row in requests_of(api, sku="B")] == ["open"]


def test_stock_request_listed_for_stock(api, scarf):
    request = expect(api.post("/purchase-requests", {"sku": "B", "quantity": 4}), 201)
    scarf_record = item_get(api, "B")

    assert request["order"] is None
    assert request["status"] == "open"
    assert scarf_record["requested"] == 4
    assert scarf_record["requested_for_customers"] == 0
    assert scarf_record["requested_for_stock"] == 4
    assert scarf_record["back_ordered"] == 0


def test_stock_request_joins_customer_po_line(api, customer, scarf):
    expect(api.post("/purchase-requests", {"sku": "B", "quantity": 4}), 201)
    order = order_create(api, customer, [("B", 1)], [pay("30.00")])

    line = po_line_of(po_create(api), "B")
    scarf_record = item_get(api, "B")

    assert line["quantity"] == 5
    assert [(row["order"], row["quantity"]) for row in line["customer_requests"]] == [
        (order["number"], 1)]
    assert scarf_record["on_order"] == 5
    assert scarf_record["on_order_for_customers"] == 1
    assert scarf_record["on_order_for_stock"] == 4
    assert scarf_record["requested"] == 0


def test_reorder_point_request_joins_po(api, make_item):
    make_item("R", on_hand=1, reorder_point=2, reorder_quantity=6)

    po = po_create(api, include_reorder=True)

    assert po_line_of(po, "R")["quantity"] == 6
    assert po_line_of(po, "R")["customer_requests"] == []
    assert item_get(api, "R")["on_order_for_stock"] == 6


def test_po_keeps_expected_date(api, scarf):
    po = po_create(api, include=False, lines=[("B", 1)], expected_date="2027-01-15")

    assert po["expected_date"] == "2027-01-15"
    assert po["vendor"] == "V"


def test_draft_po_takes_more_lines(api, card, scarf):
    po = po_create(api, include=False, lines=[("B", 2)])

    po = expect(api.post(f"/purchase-orders/{po['number']}/lines",
                         {"sku": "A", "quantity": 5, "cost": "1.25"}))
    po = expect(api.post(f"/purchase-orders/{po['number']}/lines", {"sku": "B", "quantity": 1}))

    assert po_line_of(po, "B")["quantity"] == 3
    assert po_line_of(po, "A")["quantity"] == 5
    assert po_line_of(po, "A")["cost"] == "1.25"


def test_draft_po_line_quantity_and_cost_changed(api, scarf):
    po = po_create(api, include=False, lines=[("B", 2)])
    line = po_line_of(po, "B")

    po = expect(api.patch(f"/purchase-orders/{po['number']}/lines/{line['id']}",
                          {"quantity": 4, "cost": "14.50"}))

    assert po_line_of(po, "B")["quantity"] == 4
    assert po_line_of(po, "B")["cost"] == "14.50"


def test_lowering_draft_po_line_reopens_newest_request(api, customer, other_customer, scarf):
    first = order_create(api, customer, [("B", 1)], [pay("30.00")])
    second = order_create(api, other_customer, [("B", 1)], [pay("30.00")])
    po = po_create(api)
    line = po_line_of(po, "B")

    po = expect(api.patch(f"/purchase-orders/{po['number']}/lines/{line['id']}",
                          {"quantity": 1}))
    [reopened] = requests_of(api, status="open")

    assert [row["order"] for row in po_line_of(po, "B")["customer_requests"]] == [
        first["number"]]
    assert reopened["order"] == second["number"]
    assert reopened["needs_ordering"] is True
    assert item_get(api, "B")["requested_for_customers"] == 1


def test_submitted_po_cannot_be_edited(api, scarf, card):
    po = po_submitted(api, include=False, lines=[("B", 2)])
    line = po_line_of(po, "B")

    with nothing_changes():
        added = api.post(f"/purchase-orders/{po['number']}/lines", {"sku": "A", "quantity": 1})
        changed = api.patch(f"/purchase-orders/{po['number']}/lines/{line['id']}",
                            {"quantity": 5})
        resubmitted = api.post(f"/purchase-orders/{po['number']}/submit")

    assert po["status"] == "submitted"
    assert_problem(added, 409, "invalid_state")["detail"].endswith(
        "only a draft can be edited.")
    assert_problem(changed, 409, "invalid_state")
    assert_problem(resubmitted, 409, "invalid_state")["detail"].endswith(
        "only a draft can be submitted.")


def test_empty_po_cannot_be_submitted(api, vendor):
    po = po_create(api, include=False)

    with nothing_changes():
        response = api.post(f"/purchase-orders/{po['number']}/submit")

    assert_problem(response, 409, "invalid_state")


def test_po_cancel_reopens_requests_needing_ordering(api, customer, scarf):
    order = order_create(api, customer, [("B", 1)], [pay("30.00")])
    po = po_submitted(api)

    cancelled = expect(api.post(f"/purchase-orders/{po['number']}/cancel",
                                {"reason": "vendor out of stock"}))
    [request] = requests_of(api, sku="B")
    scarf_record = item_get(api, "B")

    assert cancelled["status"] == "cancelled"
    assert request["status"] == "open"
    assert request["needs_ordering"] is True
    assert request["purchase_order"] is None
    assert scarf_record["on_order"] == 0
    assert scarf_record["requested_for_customers"] == 1
    assert line_of(order_get(api, order["number"]), "B")["back_ordered"] == 1


def test_draft_po_cancel_reopens_requests(api, customer, scarf):
    order_create(api, customer, [("B", 1)], [pay("30.00")])
    po = po_create(api)

    expect(api.post(f"/purchase-orders/{po['number']}/cancel", {"reason": "wrong vendor"}))
    [request] = requests_of(api, sku="B")

    assert (request["status"], request["needs_ordering"]) == ("open", True)
    assert item_get(api, "B")["on_order"] == 0


def test_reopened_request_joins_next_po(api, customer, scarf):
    order = order_create(api, customer, [("B", 1)], [pay("30.00")])
    po = po_submitted(api)
    expect(api.post(f"/purchase-orders/{po['number']}/cancel", {"reason": "late"}))

    again = po_create(api)
    [request] = requests_of(api, sku="B")

    assert [row["order"] for row in po_line_of(again, "B")["customer_requests"]] == [
        order["number"]]
    assert request["needs_ordering"] is False


def test_raised_line_on_submitted_po_gets_new_request(api, customer, scarf):
    order = order_create(api, customer, [("B", 1)], [pay("30.00")])
    po = po_submitted(api)

    expect(line_action(api, order, "B", "quantity", {"quantity": 2}))
    requests = [(row["status"], row["quantity"], row["purchase_order"])
                for row in requests_of(api, sku="B")]

    assert requests == [("on_order", 1, po["number"]), ("open", 1, None)]
    assert po_line_of(expect(api.get(f"/purchase-orders/{po['number']}")), "B")["quantity"] == 1


def test_po_cancel_merges_reopened_request(api, customer, scarf):
    """A line never has two open requests: the reopened units join the open one."""
    order = order_create(api, customer, [("B", 1)], [pay("30.00")])
    po = po_submitted(api)
    expect(line_action(api, order, "B", "quantity", {"quantity": 2}))

    expect(api.post(f"/purchase-orders/{po['number']}/cancel", {"reason": "late"}))
    [request] = requests_of(api, sku="B", status="open")

    assert request["quantity"] == 2
    assert request["needs_ordering"] is True


def test_po_line_cancel_reopens_its_requests(api, customer, scarf, card):
    order_create(api, customer, [("B", 1)], [pay("30.00")])
    po = po_submitted(api, lines=[("A", 5)])
    line = po_line_of(po, "B")

    po = expect(api.post(f"/purchase-orders/{po['number']}/lines/{line['id']}/cancel"))
    [request] = requests_of(api, sku="B")

    assert po_line_of(po, "B")["cancelled"] is True
    assert po_line_of(po, "B")["customer_requests"] == []
    assert request["status"] == "open"
    assert request["needs_ordering"] is True
    assert item_get(api, "B")["on_order"] == 0
    assert item_get(api, "A")["on_order"] == 5


def test_received_po_cannot_be_cancelled(api, scarf):
    po = po_submitted(api, include=False, lines=[("B", 1)])
    expect(api.post(f"/purchase-orders/{po['number']}/receipts",
                    {"lines": [{"id": po_line_of(po, "B")["id"], "quantity": 1}]}), 201)

    with nothing_changes():
        response = api.post(f"/purchase-orders/{po['number']}/cancel", {"reason": "late"})

    assert_problem(response, 409, "invalid_state")


def test_purchase_orders_listed(api, scarf):
    first = po_create(api, include=False, lines=[("B", 1)])
    second = po_submitted(api, include=False, lines=[("B", 2)])

    listed = expect(api.get("/purchase-orders"))["items"]
    submitted = expect(api.get("/purchase-orders", status="submitted"))["items"]

    assert [po["number"] for po in listed] == [second["number"], first["number"]]
    assert [po["number"] for po in submitted] == [second["number"]]

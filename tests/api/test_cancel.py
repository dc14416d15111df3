"""Cancelling units and voiding orders: reservations, requests and PO demand
follow at once, and money is refunded only when the clerk chooses it."""

import pytest

from .helpers import (
    assert_problem,
    buckets,
    deliver,
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
    receive,
    requests_of,
    stock,
)


def cancel(api, order: dict, sku: str, quantity: int, refund: str = "none") -> dict:
    return expect(line_action(api, order, sku, "cancel",
                              {"quantity": quantity, "refund": refund}))


def void(api, order: dict, refund: str = "original_tender"):
    return api.post(f"/orders/{order['number']}/void", {"refund": refund,
                                                        "reason": "customer changed mind"})


@pytest.fixture
def card_and_scarf(api, customer, card, scarf):
    """C's sales order of one card (ready) and one scarf (back-ordered), paid 34.00."""
    return order_create(api, customer, [("A", 1), ("B", 1)], [pay("34.00")])


@pytest.fixture
def two_and_one(api, customer, make_item):
    """An order with X × 2 ready and Y × 1 ready, the only X on hand."""
    make_item("X", on_hand=2)
    make_item("Y", on_hand=1)
    return order_create(api, customer, [("X", 2), ("Y", 1)], [pay("30.00")])


def test_cancel_back_ordered_units_cancels_request(api, card_and_scarf):
    order = cancel(api, card_and_scarf, "B", 1)

    assert buckets(line_of(order, "B")) == {"delivered": 0, "ready": 0, "back_ordered": 0,
                                            "cancelled": 1}
    assert line_of(order, "B")["status"] == "cancelled"
    assert order["status"] == "ready"
    assert [row["status"] for row in requests_of(api, sku="B")] == ["cancelled"]
    assert item_get(api, "B")["back_ordered"] == 0


def test_cancel_without_refund_keeps_money(api, card_and_scarf):
    order = cancel(api, card_and_scarf, "B", 1, refund="none")

    assert order["total"] == "4.00"
    assert order["paid"] == "34.00"
    assert order["balance"] == "-30.00"


def test_cancel_refunds_excess_to_original_tender(api, card_and_scarf):
    order = cancel(api, card_and_scarf, "B", 1, refund="original_tender")
    refund = order["payments"][-1]

    assert order["paid"] == "4.00"
    assert order["balance"] == "0.00"
    assert (refund["kind"], refund["amount"], refund["tender"]) == ("refund", "30.00", "cash")


def test_cancel_refunds_excess_to_store_credit(api, card_and_scarf, customer):
    order = cancel(api, card_and_scarf, "B", 1, refund="store_credit")

    assert order["paid"] == "4.00"
    assert order["payments"][-1]["tender"] == "store_credit"
    assert expect(api.get(f"/customers/{customer.pk}"))["store_credit"] == "30.00"


def test_cancel_drops_units_from_draft_po(api, customer, other_customer, scarf):
    order = order_create(api, customer, [("B", 2)], [pay("60.00")])
    other = order_create(api, other_customer, [("B", 1)], [pay("30.00")])
    po = po_create(api)

    cancel(api, order, "B", 1)
    line = po_line_of(expect(api.get(f"/purchase-orders/{po['number']}")), "B")

    assert line["quantity"] == 2
    assert [(row["order"], row["quantity"]) for row in line["customer_requests"]] == [
        (order["number"], 1), (other["number"], 1)]


def test_cancel_unlinks_request_on_submitted_po(api, customer, scarf):
    order = order_create(api, customer, [("B", 1), ("B", 1)], [pay("60.00")])
    [first_line, second_line] = order["lines"]
    po = po_submitted(api)

    expect(api.post(f"/orders/{order['number']}/lines/{first_line['id']}/cancel",
                    {"quantity": 1, "refund": "none"}))
    line = po_line_of(expect(api.get(f"/purchase-orders/{po['number']}")), "B")
    receipt = receive(api, po["number"], (line["id"], 2))
    lines = {row["id"]: row for row in order_get(api, order["number"])["lines"]}

    assert line["quantity"] == 2
    assert [row["quantity"] for row in line["customer_requests"]] == [1]
    assert [notice["quantity"] for notice in receipt["notices"]] == [1]
    assert lines[second_line["id"]]["ready"] == 1
    assert lines[first_line["id"]]["ready"] == 0
    assert stock(api, "B") == {"on_hand": 2, "reserved": 1, "available": 1}


def test_cancel_ready_line_releases_reservation(api, two_and_one):
    order = cancel(api, two_and_one, "X", 2)

    assert line_of(order, "X")["cancelled"] == 2
    assert line_of(order, "Y")["ready"] == 1
    assert order["status"] == "ready"
    assert stock(api, "X") == {"on_hand": 2, "reserved": 0, "available": 2}


def test_cancel_ready_line_serves_oldest_waiting(api, two_and_one, other_customer,
                                                 make_customer):
    oldest = order_create(api, other_customer, [("X", 1)], [pay("10.00")])
    newest = order_create(api, make_customer("Customer E"), [("X", 3)], [pay("30.00")])

    cancel(api, two_and_one, "X", 2)

    assert order_get(api, oldest["number"])["status"] == "ready"
    assert line_of(order_get(api, newest["number"]), "X")["ready"] == 1
    assert stock(api, "X") == {"on_hand": 2, "reserved": 2, "available": 0}
    assert [row["quantity"] for row in requests_of(api, sku="X", status="open")] == [2]


def test_cancel_more_than_open_units_rejected(api, card_and_scarf):
    with nothing_changes():
        response = line_action(api, card_and_scarf, "B", "cancel", {"quantity": 2})

    assert_problem(response, 422, "validation_error")


def test_cancel_on_delivered_order_rejected(api, card):
    sale = order_create(api, None, [("A", 1)], [pay("4.00")], order_type="sale")

    with nothing_changes():
        response = line_action(api, sale, "A", "cancel", {"quantity": 1})

    assert_problem(response, 409, "invalid_state")


def test_void_releases_everything(api, card_and_scarf):
    order = expect(void(api, card_and_scarf))

    assert order["status"] == "cancelled"
    assert order["total"] == "0.00"
    assert order["paid"] == "0.00"
    assert [line["cancelled"] for line in order["lines"]] == [1, 1]
    assert stock(api, "A") == {"on_hand": 10, "reserved": 0, "available": 10}
    assert [row["status"] for row in requests_of(api)] == ["cancelled"]


def test_void_without_refund_keeps_money(api, card_and_scarf):
    order = expect(void(api, card_and_scarf, refund="none"))

    assert order["status"] == "cancelled"
    assert order["paid"] == "34.00"


def test_void_keeps_units_already_handed_over(api, card_and_scarf):
    """The customer has the card: voiding cancels the scarf and refunds its 30.00 only."""
    expect(deliver(api, card_and_scarf["number"], [(line_of(card_and_scarf, "A")["id"], 1)]))

    order = expect(void(api, card_and_scarf))

    assert order["status"] == "delivered"
    assert buckets(line_of(order, "A"))["delivered"] == 1
    assert buckets(line_of(order, "B"))["cancelled"] == 1
    assert order["total"] == "4.00"
    assert order["paid"] == "4.00"
    assert stock(api, "A") == {"on_hand": 9, "reserved": 0, "available": 9}


def test_void_sale_takes_goods_back(api, card):
    sale = order_create(api, None, [("A", 2)], [pay("8.00")], order_type="sale")

    order = expect(void(api, sale))

    assert order["status"] == "cancelled"
    assert order["paid"] == "0.00"
    assert stock(api, "A") == {"on_hand": 10, "reserved": 0, "available": 10}


def test_void_unlinks_request_on_submitted_po(api, card_and_scarf):
    po = po_submitted(api)

    expect(void(api, card_and_scarf))
    line = po_line_of(expect(api.get(f"/purchase-orders/{po['number']}")), "B")

    assert line["customer_requests"] == []
    assert item_get(api, "B")["on_order_for_customers"] == 0


def test_void_cancels_held_order(api, customer, card):
    held = order_create(api, customer, [("A", 1)], hold=True)

    order = expect(void(api, held, refund="none"))

    assert order["status"] == "cancelled"
    assert line_of(order, "A")["cancelled"] == 1


def test_voided_held_order_cannot_be_finalized(api, customer, card):
    held = order_create(api, customer, [("A", 1)], hold=True)
    expect(void(api, held, refund="none"))

    with nothing_changes():
        response = api.post(f"/orders/{held['number']}/finalize", {"payments": []})

    assert_problem(response, 409, "invalid_state")


def test_void_twice_rejected(api, card_and_scarf):
    expect(void(api, card_and_scarf))

    with nothing_changes():
        response = void(api, card_and_scarf)

    assert_problem(response, 409, "invalid_state")


def test_void_needs_reason(api, card_and_scarf):
    with nothing_changes():
        response = api.post(f"/orders/{card_and_scarf['number']}/void",
                            {"refund": "original_tender", "reason": " "})

    assert_problem(response, 422, "validation_error")


def test_sale_voided_by_line(api, card, make_item):
    """A finished sale is voided line by line by taking the goods back."""
    make_item("X", on_hand=1)
    sale = order_create(api, None, [("A", 2), ("X", 1)], [pay("18.00")], order_type="sale")

    order = expect(line_action(api, sale, "A", "return",
                               {"quantity": 2, "refund": "original_tender"}))

    assert order["total"] == "10.00"
    assert order["paid"] == "10.00"
    assert order["status"] == "delivered"
    assert stock(api, "A") == {"on_hand": 10, "reserved": 0, "available": 10}


def test_whole_sale_voided(api, card):
    sale = order_create(api, None, [("A", 2)], [pay("8.00")], order_type="sale")

    order = expect(void(api, sale))

    assert order["status"] == "cancelled"
    assert order["paid"] == "0.00"
    assert order["payments"][-1]["amount"] == "8.00"
    assert stock(api, "A") == {"on_hand": 10, "reserved": 0, "available": 10}

"""Back orders: one purchase request per line, "back order item", and raising or
lowering a line's quantity."""

from .helpers import (
    assert_problem,
    buckets,
    expect,
    line_action,
    line_of,
    nothing_changes,
    order_create,
    pay,
    po_create,
    po_line_of,
    requests_of,
    stock,
)


def test_each_line_gets_own_request(api, customer, make_item):
    make_item("X")

    order = order_create(api, customer, [("X", 2), ("X", 3)], [pay("50.00")])

    assert sorted(row["quantity"] for row in requests_of(api, sku="X")) == [2, 3]
    assert {row["order"] for row in requests_of(api, sku="X")} == {order["number"]}


def test_back_order_item_moves_ready_units(api, customer, card):
    order = order_create(api, customer, [("A", 2)], [pay("8.00")])

    changed = expect(line_action(api, order, "A", "back-order", {"quantity": 1}))

    assert buckets(line_of(changed, "A")) == {"delivered": 0, "ready": 1, "back_ordered": 1,
                                              "cancelled": 0}
    assert changed["status"] == "waiting"
    assert stock(api, "A") == {"on_hand": 10, "reserved": 1, "available": 9}
    assert [(row["quantity"], row["status"]) for row in requests_of(api, sku="A")] == [
        (1, "open")]


def test_back_order_item_grows_line_request(api, customer, make_item):
    make_item("X", on_hand=1)
    order = order_create(api, customer, [("X", 3)], [pay("30.00")])

    expect(line_action(api, order, "X", "back-order", {"quantity": 1}))

    assert [row["quantity"] for row in requests_of(api, sku="X")] == [3]


def test_back_order_item_beyond_ready_rejected(api, customer, card):
    order = order_create(api, customer, [("A", 2)], [pay("8.00")])

    with nothing_changes():
        response = line_action(api, order, "A", "back-order", {"quantity": 3})

    assert_problem(response, 422, "validation_error")


def test_back_order_item_frees_unit_for_waiting_order(api, customer, other_customer,
                                                       make_item):
    """The freed shelf unit goes to the next waiting customer, not back to the same line."""
    make_item("X", on_hand=1)
    first = order_create(api, customer, [("X", 1)], [pay("10.00")])
    waiting = order_create(api, other_customer, [("X", 1)], [pay("10.00")])

    expect(line_action(api, first, "X", "back-order", {"quantity": 1}))

    assert expect(api.get(f"/orders/{waiting['number']}"))["status"] == "ready"
    assert expect(api.get(f"/orders/{first['number']}"))["status"] == "waiting"
    assert stock(api, "X") == {"on_hand": 1, "reserved": 1, "available": 0}


def test_raising_quantity_reserves_then_back_orders(api, customer, card):
    order = order_create(api, customer, [("A", 1)], [pay("4.00")])

    changed = expect(line_action(api, order, "A", "quantity", {"quantity": 12}))

    assert buckets(line_of(changed, "A")) == {"delivered": 0, "ready": 10, "back_ordered": 2,
                                              "cancelled": 0}
    assert changed["total"] == "48.00"
    assert [row["quantity"] for row in requests_of(api, sku="A")] == [2]
    assert stock(api, "A") == {"on_hand": 10, "reserved": 10, "available": 0}


def test_raising_special_order_line_orders_new_units(api, customer, card):
    order = order_create(api, customer, [("A", 1)], [pay("4.00")], order_type="special_order")

    changed = expect(line_action(api, order, "A", "quantity", {"quantity": 3}))

    assert line_of(changed, "A")["back_ordered"] == 3
    assert [row["quantity"] for row in requests_of(api, sku="A")] == [3]


def test_lowering_quantity_cancels_back_ordered_units(api, customer, make_item):
    make_item("X", on_hand=1)
    order = order_create(api, customer, [("X", 3)], [pay("30.00")])

    changed = expect(line_action(api, order, "X", "quantity", {"quantity": 2}))

    assert buckets(line_of(changed, "X")) == {"delivered": 0, "ready": 1, "back_ordered": 1,
                                              "cancelled": 1}
    assert changed["total"] == "20.00"
    assert [row["quantity"] for row in requests_of(api, sku="X")] == [1]


def test_lowering_to_ready_cancels_request(api, customer, make_item):
    make_item("X", on_hand=1)
    order = order_create(api, customer, [("X", 3)], [pay("30.00")])

    changed = expect(line_action(api, order, "X", "quantity", {"quantity": 1}))

    assert changed["status"] == "ready"
    assert [row["status"] for row in requests_of(api, sku="X")] == ["cancelled"]
    assert stock(api, "X") == {"on_hand": 1, "reserved": 1, "available": 0}


def test_lowering_ready_line_releases_reservation(api, customer, card):
    order = order_create(api, customer, [("A", 3)], [pay("12.00")])

    changed = expect(line_action(api, order, "A", "quantity", {"quantity": 1}))

    assert buckets(line_of(changed, "A")) == {"delivered": 0, "ready": 1, "back_ordered": 0,
                                              "cancelled": 2}
    assert stock(api, "A") == {"on_hand": 10, "reserved": 1, "available": 9}


def test_raising_again_restores_cancelled_units(api, customer, card):
    order = order_create(api, customer, [("A", 3)], [pay("12.00")])
    path = f"/orders/{order['number']}/lines/{line_of(order, 'A')['id']}/quantity"
    expect(api.post(path, {"quantity": 1}))

    changed = expect(api.post(path, {"quantity": 3}))

    assert buckets(line_of(changed, "A")) == {"delivered": 0, "ready": 3, "back_ordered": 0,
                                              "cancelled": 0}
    assert changed["total"] == "12.00"


def test_lowering_below_delivered_rejected(api, customer, make_item):
    make_item("X", on_hand=2)
    order = order_create(api, customer, [{"sku": "X", "quantity": 3, "take_now": True}],
                         [pay("30.00")])
    path = f"/orders/{order['number']}/lines/{line_of(order, 'X')['id']}/quantity"

    with nothing_changes():
        response = api.post(path, {"quantity": 1})

    assert_problem(response, 422, "validation_error")


def test_purchase_requested_twice_leaves_one_request(api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("34.00")])
    path = f"/orders/{order['number']}/lines/{line_of(order, 'B')['id']}/purchase-request"

    first = expect(api.post(path))
    second = expect(api.post(path))

    assert len(requests_of(api, sku="B")) == 1
    assert first["items"] == second["items"]
    assert first["items"][0]["quantity"] == 1


def test_purchase_request_repeated_with_key_leaves_one(api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("34.00")])
    path = f"/orders/{order['number']}/lines/{line_of(order, 'B')['id']}/purchase-request"
    headers = {"Idempotency-Key": "request-scarf-1"}

    first = expect(api.post(path, headers=headers))
    with nothing_changes():
        repeated = expect(api.post(path, headers=headers))

    assert repeated == first
    assert len(requests_of(api, sku="B")) == 1


def test_line_on_draft_po_lowered_and_raised_keeps_po_line(api, customer, make_item):
    make_item("X")
    order = order_create(api, customer, [("X", 10)], [pay("100.00")])
    path = f"/orders/{order['number']}/lines/{line_of(order, 'X')['id']}/quantity"
    po = po_create(api)

    expect(api.post(path, {"quantity": 3}))
    lowered = po_line_of(expect(api.get(f"/purchase-orders/{po['number']}")), "X")
    expect(api.post(path, {"quantity": 10}))
    raised = po_line_of(expect(api.get(f"/purchase-orders/{po['number']}")), "X")

    assert lowered["quantity"] == 3
    assert raised["quantity"] == 10
    assert [(row["order"], row["quantity"]) for row in raised["customer_requests"]] == [
        (order["number"], 10)]
    assert [row["status"] for row in requests_of(api, sku="X")] == ["on_order"]

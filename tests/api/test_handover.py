"""Hand-over: only ready units leave, on hand drops once, and what is due is
collected in the same step."""

import pytest

from .helpers import (
    adjust,
    assert_problem,
    buckets,
    deliver,
    expect,
    line_of,
    nothing_changes,
    order_create,
    order_get,
    pay,
    set_settings,
    stock,
)


@pytest.fixture
def ten_at_ten(api, customer, make_item):
    """C's sales order of 10 × X at 10.00, all ready, with the minimum deposit of 25.00."""
    make_item("X", on_hand=10)
    return order_create(api, customer, [("X", 10)], [pay("25.00")])


def test_last_units_shared_by_two_orders(api, customer, other_customer, make_item):
    make_item("X", on_hand=2)
    first = order_create(api, customer, [("X", 1)], [pay("10.00")])
    second = order_create(api, other_customer, [("X", 1)], [pay("10.00")])

    handed = expect(deliver(api, first["number"]))
    after_first = stock(api, "X")
    expect(deliver(api, second["number"]))

    assert handed["status"] == "delivered"
    assert after_first == {"on_hand": 1, "reserved": 1, "available": 0}
    assert order_get(api, second["number"])["status"] == "delivered"
    assert stock(api, "X") == {"on_hand": 0, "reserved": 0, "available": 0}


def test_part_of_ready_line_handed_over(api, customer, make_item):
    make_item("X", on_hand=10)
    order = order_create(api, customer, [("X", 10)], [pay("100.00")])

    handed = expect(deliver(api, order["number"], [(line_of(order, "X")["id"], 7)]))

    assert buckets(line_of(handed, "X")) == {"delivered": 7, "ready": 3, "back_ordered": 0,
                                             "cancelled": 0}
    assert handed["status"] == "ready"
    assert stock(api, "X") == {"on_hand": 3, "reserved": 3, "available": 0}


def test_line_given_twice_rejected(api, customer, make_item):
    make_item("X", on_hand=10)
    order = order_create(api, customer, [("X", 10)], [pay("100.00")])
    line_id = line_of(order, "X")["id"]

    with nothing_changes():
        response = deliver(api, order["number"], [(line_id, 3), (line_id, 4)])

    body = assert_problem(response, 422, "validation_error")
    assert body["detail"] == (f"Line {line_id} is given twice. Give each line once, with all "
                              "the units to hand over from it.")
    assert body["errors"] == [{"field": "lines[1].id", "message": body["detail"]}]


def test_repeat_reported_before_unknown_line(api, customer, make_item):
    make_item("X", on_hand=10)
    order = order_create(api, customer, [("X", 10)], [pay("100.00")])
    line_id = line_of(order, "X")["id"]

    response = deliver(api, order["number"], [(line_id, 1), (999999, 1), (line_id, 1)])

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "lines[2].id"


def test_hand_over_reduces_on_hand_once(api, customer, make_item):
    make_item("X", on_hand=100)
    order = order_create(api, customer, [("X", 3)], [pay("30.00")])

    expect(deliver(api, order["number"]))

    assert stock(api, "X") == {"on_hand": 97, "reserved": 0, "available": 97}


def test_sale_reduces_on_hand_once(api, make_item):
    make_item("X", on_hand=100)

    order_create(api, None, [("X", 3)], [pay("30.00")], order_type="sale")

    assert stock(api, "X") == {"on_hand": 97, "reserved": 0, "available": 97}


def test_back_ordered_units_not_handed_over(api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("34.00")])

    with nothing_changes():
        response = deliver(api, order["number"], [(line_of(order, "B")["id"], 1)])

    body = assert_problem(response, 409, "nothing_to_deliver")
    assert body["data"]["ready"] == 0


def test_more_than_ready_not_handed_over(api, ten_at_ten):
    with nothing_changes():
        response = deliver(api, ten_at_ten["number"], [(line_of(ten_at_ten, "X")["id"], 11)])

    assert_problem(response, 409, "nothing_to_deliver")


def test_nothing_ready_not_handed_over(api, customer, scarf):
    order = order_create(api, customer, [("B", 1)], [pay("30.00")])

    with nothing_changes():
        response = deliver(api, order["number"])

    assert_problem(response, 409, "nothing_to_deliver")


def test_held_order_not_handed_over(api, customer, card):
    held = order_create(api, customer, [("A", 1)], hold=True)

    with nothing_changes():
        response = deliver(api, held["number"])

    assert_problem(response, 409, "invalid_state")


def test_deposit_covers_first_goods(api, clerk_api, customer, card, scarf):
    order = order_create(clerk_api, customer, [("A", 1), ("B", 1)], [pay("8.50")])

    handed = expect(deliver(clerk_api, order["number"], [(line_of(order, "A")["id"], 1)]))

    assert line_of(handed, "A")["delivered"] == 1
    assert handed["paid"] == "8.50"


def test_amount_due_counts_goods_so_far(clerk_api, ten_at_ten):
    line_id = line_of(ten_at_ten, "X")["id"]

    with nothing_changes():
        rejected = deliver(clerk_api, ten_at_ten["number"], [(line_id, 3)])

    body = assert_problem(rejected, 409, "balance_due")
    assert body["data"]["amount_due"] == "5.00"


def test_amount_due_collected_in_same_step(clerk_api, ten_at_ten):
    line_id = line_of(ten_at_ten, "X")["id"]

    first = expect(deliver(clerk_api, ten_at_ten["number"], [(line_id, 3)], [pay("5.00")]))
    second = expect(deliver(clerk_api, ten_at_ten["number"], [(line_id, 2)],
                            [pay("20.00", "card")]))

    assert first["paid"] == "30.00"
    assert line_of(first, "X")["delivered"] == 3
    assert second["paid"] == "50.00"
    assert second["balance"] == "50.00"


def test_partial_hand_overs_add_up_to_the_cent(api, clerk_api, customer, make_item):
    """3 × 9.99 less 10 % is 26.97, with 8.25 % tax 2.23: 29.20, a third of it 9.73."""
    set_settings(api, tax_rate="8.25")
    make_item("T", on_hand=3, price="9.99", taxable=True)
    order = order_create(api, customer, [{"sku": "T", "quantity": 3, "discount_percent": "10"}],
                         [pay("7.30", "card")])
    line_id = line_of(order, "T")["id"]

    with nothing_changes():
        first_due = deliver(clerk_api, order["number"], [(line_id, 1)])
    expect(deliver(clerk_api, order["number"], [(line_id, 1)], [pay("2.43", "card")]))
    with nothing_changes():
        second_due = deliver(clerk_api, order["number"], [(line_id, 2)])
    final = expect(deliver(clerk_api, order["number"], [(line_id, 2)], [pay("19.47", "card")]))

    assert order["total"] == "29.20"
    assert assert_problem(first_due, 409, "balance_due")["data"]["amount_due"] == "2.43"
    assert assert_problem(second_due, 409, "balance_due")["data"]["amount_due"] == "19.47"
    assert final["status"] == "delivered"
    assert final["balance"] == "0.00"


def test_short_collection_at_hand_over_rejected(clerk_api, ten_at_ten):
    line_id = line_of(ten_at_ten, "X")["id"]

    with nothing_changes():
        response = deliver(clerk_api, ten_at_ten["number"], [(line_id, 3)], [pay("4.99")])

    body = assert_problem(response, 409, "balance_due")
    assert body["data"]["amount_due"] == "0.01"


def test_manager_hands_over_with_balance(api, manager_api, ten_at_ten):
    handed = expect(deliver(manager_api, ten_at_ten["number"]))
    actions = [event["action"] for event in expect(
        api.get(f"/orders/{ten_at_ten['number']}/events"))]

    assert handed["status"] == "delivered"
    assert handed["balance"] == "75.00"
    assert "delivered_with_balance" in actions


def test_balance_paid_after_hand_over(api, manager_api, clerk_api, ten_at_ten):
    expect(deliver(manager_api, ten_at_ten["number"]))

    paid = expect(clerk_api.post(f"/orders/{ten_at_ten['number']}/payments",
                                 pay("75.00", "card")))

    assert paid["status"] == "delivered"
    assert paid["balance"] == "0.00"


def test_cash_above_due_at_hand_over_gives_change(api, clerk_api, customer, card, scarf):
    order = order_create(clerk_api, customer, [("A", 1), ("B", 1)], [pay("8.50")])
    expect(deliver(clerk_api, order["number"], [(line_of(order, "A")["id"], 1)]))
    adjust(api, "B", 1)

    handed = expect(deliver(clerk_api, order["number"], payments=[pay("30.00")]))

    assert handed["status"] == "delivered"
    assert handed["payments"][-1]["change"] == "4.50"
    assert handed["balance"] == "0.00"


def test_layaway_handed_over_only_when_paid(api, customer, card):
    """Even a user allowed to hand over with a balance cannot do it for a layaway."""
    order = order_create(api, customer, [("A", 5)], [pay("5.00")], order_type="layaway")

    with nothing_changes():
        rejected = deliver(api, order["number"], [(line_of(order, "A")["id"], 1)])
    handed = expect(deliver(api, order["number"], payments=[pay("15.00", "card")]))

    assert_problem(rejected, 409, "balance_due")
    assert handed["status"] == "delivered"
    assert handed["balance"] == "0.00"
    assert stock(api, "A") == {"on_hand": 5, "reserved": 0, "available": 5}


def test_layaway_paid_in_instalments(api, clerk_api, customer, card):
    order = order_create(api, customer, [("A", 5)], [pay("5.00")], order_type="layaway")
    expect(clerk_api.post(f"/orders/{order['number']}/payments", pay("10.00")))
    expect(clerk_api.post(f"/orders/{order['number']}/payments", pay("5.00", "card")))

    handed = expect(deliver(clerk_api, order["number"]))

    assert handed["status"] == "delivered"
    assert handed["paid"] == "20.00"

"""Finalizing orders: customers, sales paid in full, deposits, payments, holds,
and what each order type does with stock."""

import pytest

from .helpers import (
    assert_problem,
    buckets,
    expect,
    item_get,
    line_of,
    nothing_changes,
    order_body,
    order_create,
    pay,
    requests_of,
    set_settings,
    stock,
)


@pytest.mark.parametrize("order_type", ["sales_order", "special_order", "layaway",
                                        "custom_order"])
def test_pending_order_needs_named_customer(api, card, order_type):
    with nothing_changes():
        response = api.post("/orders", order_body(None, [("A", 1)], [pay("4.00")],
                                                  order_type=order_type))

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "customer"


def test_sale_to_walk_in_leaves_at_once(api, card):
    order = order_create(api, None, [("A", 2)], [pay("8.00")], order_type="sale")

    assert order["status"] == "delivered"
    assert order["customer"]["name"] == "Retail customer"
    assert line_of(order, "A")["delivered"] == 2
    assert order["paid"] == "8.00"
    assert stock(api, "A") == {"on_hand": 8, "reserved": 0, "available": 8}


def test_sale_short_of_stock_offers_sales_order(api, card):
    with nothing_changes():
        response = api.post("/orders", order_body(None, [("A", 11)], [pay("44.00")],
                                                  order_type="sale"))

    body = assert_problem(response, 409, "insufficient_stock")
    assert body["data"] == {"sku": "A", "requested": 11, "available": 10}
    assert "sales order" in body["detail"]


def test_sale_underpaid_rejected(api, card):
    with nothing_changes():
        response = api.post("/orders", order_body(None, [("A", 1)], [pay("3.99", "card")],
                                                  order_type="sale"))

    assert_problem(response, 409, "balance_due")


def test_store_proposes_25_percent_deposit(api, store):
    settings = expect(api.get("/settings"))

    assert set(settings) >= {"currency", "deposit_percent", "minimum_deposit_percent",
                             "tax_rate", "cash_rounding", "over_receipt_tolerance_percent",
                             "ready_reminder_days"}
    assert settings["currency"] == "USD"
    assert settings["deposit_percent"] == "25"
    assert settings["minimum_deposit_percent"] == "25"


def test_deposit_below_minimum_rejected_for_clerk(clerk_api, customer, card, scarf):
    with nothing_changes():
        response = clerk_api.post("/orders", order_body(customer, [("A", 1), ("B", 1)],
                                                        [pay("8.49", "card")]))

    body = assert_problem(response, 422, "deposit_below_minimum")
    assert body["data"] == {"minimum": "8.50", "deposit": "8.49"}


def test_minimum_deposit_accepted_for_clerk(clerk_api, customer, card, scarf):
    order = order_create(clerk_api, customer, [("A", 1), ("B", 1)], [pay("8.50", "card")])

    assert order["paid"] == "8.50"
    assert order["balance"] == "25.50"


def test_store_lowers_minimum_deposit_to_zero(api, clerk_api, customer, card, scarf):
    set_settings(api, minimum_deposit_percent="0")

    order = order_create(clerk_api, customer, [("A", 1), ("B", 1)])

    assert order["status"] == "waiting"
    assert order["paid"] == "0.00"


def test_override_deposit_granted_to_one_user(client_for, clerk, customer, card, scarf):
    """Permissions are assignable per user as well as per role."""
    from django.contrib.auth.models import Permission

    clerk.user_permissions.add(Permission.objects.get(codename="override_deposit"))
    clerk_api = client_for(clerk)

    order = order_create(clerk_api, customer, [("A", 1), ("B", 1)])

    assert order["paid"] == "0.00"


def test_deposit_above_balance_rejected(api, customer, card):
    with nothing_changes():
        response = api.post("/orders", order_body(customer, [("A", 1)], [pay("5.00", "card")]))

    assert_problem(response, 409, "payment_exceeds_balance")


def test_deposit_excess_goes_to_store_credit(api, customer, card):
    order = order_create(api, customer, [("A", 1)],
                         [pay("5.00", "card", to_store_credit=True)])

    assert order["paid"] == "4.00"
    assert order["balance"] == "0.00"
    assert expect(api.get(f"/customers/{customer.pk}"))["store_credit"] == "1.00"


def test_cash_above_due_gives_change(api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("50.00")])
    [payment] = order["payments"]

    assert order["paid"] == "34.00"
    assert payment["amount"] == "34.00"
    assert payment["change"] == "16.00"


def test_held_order_has_no_stock_effect(api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1), ("B", 1)], hold=True)

    assert order["status"] == "on_hold"
    assert stock(api, "A") == {"on_hand": 10, "reserved": 0, "available": 10}
    assert requests_of(api) == []
    assert order["paid"] == "0.00"


def test_held_order_lines_use_api_statuses(api, customer, card, scarf):
    """API v1 lists four line statuses; the lines of a held order are waiting."""
    order = order_create(api, customer, [("A", 1), ("B", 1)], hold=True)

    assert [line["status"] for line in order["lines"]] == ["waiting", "waiting"]


def test_held_order_finalized_later(api, customer, card, scarf):
    held = order_create(api, customer, [("A", 1), ("B", 1)], hold=True)

    order = expect(api.post(f"/orders/{held['number']}/finalize",
                            {"payments": [pay("34.00")]}))

    assert order["status"] == "waiting"
    assert line_of(order, "A")["ready"] == 1
    assert line_of(order, "B")["back_ordered"] == 1
    assert stock(api, "A") == {"on_hand": 10, "reserved": 1, "available": 9}
    assert len(requests_of(api, sku="B")) == 1


def test_held_order_finalized_twice_conflicts(api, customer, card):
    held = order_create(api, customer, [("A", 1)], hold=True)
    expect(api.post(f"/orders/{held['number']}/finalize", {"payments": [pay("4.00")]}))

    with nothing_changes():
        response = api.post(f"/orders/{held['number']}/finalize", {"payments": []})

    assert_problem(response, 409, "invalid_state")


def test_held_sale_to_walk_in_finalized(api, card):
    held = order_create(api, None, [("A", 1)], order_type="sale", hold=True)

    order = expect(api.post(f"/orders/{held['number']}/finalize",
                            {"payments": [pay("4.00")]}))

    assert held["status"] == "on_hold"
    assert order["status"] == "delivered"
    assert stock(api, "A")["on_hand"] == 9


def test_partial_stock_reserved_rest_back_ordered(api, customer, make_item):
    make_item("X", on_hand=1)

    order = order_create(api, customer, [("X", 3)], [pay("30.00")])

    assert buckets(line_of(order, "X")) == {"delivered": 0, "ready": 1, "back_ordered": 2,
                                            "cancelled": 0}
    assert [row["quantity"] for row in requests_of(api, sku="X")] == [2]


def test_take_now_line_leaves_at_once(api, customer, card, scarf):
    order = order_create(api, customer, [{"sku": "A", "quantity": 1, "take_now": True},
                                         ("B", 1)], [pay("34.00")])

    assert line_of(order, "A")["delivered"] == 1
    assert stock(api, "A") == {"on_hand": 9, "reserved": 0, "available": 9}
    assert order["status"] == "waiting"


def test_untracked_item_never_back_ordered(api, customer, make_item):
    make_item("GIFTWRAP", price="2.00", tracked=False)

    order = order_create(api, customer, [("GIFTWRAP", 3)], [pay("6.00")])

    assert order["status"] == "ready"
    assert line_of(order, "GIFTWRAP")["ready"] == 3
    assert requests_of(api) == []
    assert stock(api, "GIFTWRAP") == {"on_hand": 0, "reserved": 0, "available": 0}


def test_layaway_reserves_stock(api, customer, card):
    order = order_create(api, customer, [("A", 5)], [pay("5.00")], order_type="layaway")

    assert order["status"] == "ready"
    assert line_of(order, "A")["ready"] == 5
    assert order["balance"] == "15.00"
    assert stock(api, "A") == {"on_hand": 10, "reserved": 5, "available": 5}


def test_custom_order_free_text_line_ordered_from_maker(api, customer, vendor):
    line = {"description": "silver ring, size 7", "unit_price": "120.00", "quantity": 1,
            "vendor": "V"}

    order = order_create(api, customer, [line], [pay("30.00")], order_type="custom_order")
    [request] = requests_of(api, vendor="V")

    assert order["status"] == "waiting"
    assert order["lines"][0]["description"] == "silver ring, size 7"
    assert order["lines"][0]["back_ordered"] == 1
    assert order["total"] == "120.00"
    assert request["quantity"] == 1
    assert request["order"] == order["number"]


def test_item_record_shows_every_bucket(api, customer, card):
    item = item_get(api, "A")

    assert set(item) >= {"sku", "description", "price", "cost", "vendor", "on_hand",
                         "reserved", "available", "requested", "requested_for_customers",
                         "on_order", "on_order_for_customers", "back_ordered"}
    assert item["price"] == "4.00"
    assert item["vendor"] == "V"


def test_customer_shows_open_orders_and_credit(api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("8.50")])

    record = expect(api.get(f"/customers/{customer.pk}"))

    assert [(row["number"], row["status"], row["balance"]) for row in record["open_orders"]] == [
        (order["number"], "waiting", "25.50")]
    assert record["store_credit"] == "0.00"


def test_line_added_later_decided_at_once(api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1)], [pay("4.00")])

    changed = expect(api.post(f"/orders/{order['number']}/lines", {"sku": "B", "quantity": 1}))

    assert changed["status"] == "waiting"
    assert line_of(changed, "B")["back_ordered"] == 1
    assert [row["quantity"] for row in requests_of(api, sku="B")] == [1]
    assert changed["total"] == "34.00"

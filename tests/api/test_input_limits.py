"""Values too large, too long or unknown are rejected with 422 and change nothing."""

import pytest

from .helpers import (
    assert_problem,
    expect,
    nothing_changes,
    order_body,
    order_create,
    pay,
    set_settings,
)


@pytest.mark.parametrize(("field", "value"), [
    ("price", "10000000000.00"),
    ("cost", "123456789012345.00"),
    ("reorder_quantity", 10**15),
    ("description", "x" * 301),
])
def test_item_out_of_range_rejected(api, vendor, field, value):
    body = {"sku": "BIG", "description": "big", "price": "1.00", field: value}

    with nothing_changes():
        response = api.post("/items", body)

    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["field"] == field


def test_huge_payment_rejected(api, customer, card):
    with nothing_changes():
        response = api.post("/orders", order_body(
            customer, [("A", 1)], [pay("1000000000000000000000000000000")]))

    assert_problem(response, 422, "validation_error")


def test_line_total_beyond_largest_amount_rejected(api, customer, card):
    body = order_body(customer, [("A", 1_000_000)], [])
    body["lines"][0]["unit_price"] = "99999999.99"

    with nothing_changes():
        response = api.post("/orders", body)

    assert_problem(response, 422, "validation_error")


def test_unknown_body_field_rejected(api, customer, card):
    body = order_body(customer, [("A", 1)], [pay("4.00")])
    body["hodl"] = True

    with nothing_changes():
        response = api.post("/orders", body)

    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["field"] == "hodl"


def test_long_reason_rejected(api, card):
    with nothing_changes():
        response = api.post("/items/A/adjustments", {"quantity": 1, "reason": "r" * 201})

    assert_problem(response, 422, "validation_error")


def test_cursor_of_wrong_type_rejected(api, customer):
    assert_problem(api.get("/customers", cursor="WyJ6enoiXQ"), 422, "validation_error")


def test_unknown_api_path_is_problem_json(api):
    response = api.get("/nothing-here")

    assert_problem(response, 404, "not_found")


def test_malformed_json_gets_stable_code(api):
    response = api.client.post("/api/v1/orders", '{"type": "sales_order", ',
                               content_type="application/json",
                               headers={"Authorization": f"Bearer {api.token}"})

    assert_problem(response, 400, "malformed_request")


def test_percentages_written_plainly(api):
    settings = set_settings(api, deposit_percent="50", over_receipt_tolerance_percent="10")

    assert settings["deposit_percent"] == "50"
    assert settings["over_receipt_tolerance_percent"] == "10"


def test_minimum_deposit_above_proposed_rejected(api):
    with nothing_changes():
        response = api.patch("/settings", {"minimum_deposit_percent": "50"})

    assert_problem(response, 422, "validation_error")


def test_cash_rounding_must_be_coin_step(api):
    with nothing_changes():
        response = api.patch("/settings", {"cash_rounding": "0.07"})

    assert_problem(response, 422, "validation_error")


def test_cash_off_the_rounding_step_rejected(api, card):
    set_settings(api, cash_rounding="0.05")

    with nothing_changes():
        response = api.post("/orders", order_body(None, [("A", 1)], [pay("4.03")],
                                                  order_type="sale"))

    assert_problem(response, 422, "validation_error")


def test_cash_change_shows_tendered(api, card):
    sale = expect(api.post("/orders", order_body(None, [("A", 1)], [pay("20.00")],
                                                 order_type="sale")), 201)

    [payment] = sale["payments"]
    assert payment["amount"] == "4.00"
    assert payment["tendered"] == "20.00"
    assert payment["change"] == "16.00"


def test_idempotency_ignores_key_order(api, customer, card):
    headers = {"Idempotency-Key": "same-body"}
    first = api.client.post(
        "/api/v1/customers", '{"name": "Ann", "email": "ann@example.com"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}", **headers})

    again = api.client.post(
        "/api/v1/customers", '{"email": "ann@example.com", "name": "Ann"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}", **headers})

    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]


def test_nul_character_rejected(api):
    with nothing_changes():
        response = api.post("/customers", {"name": "Ann\u0000Lee"})

    assert_problem(response, 422, "validation_error")


def test_cash_in_exponent_notation_rejected(api, card):
    with nothing_changes():
        response = api.post("/orders", order_body(None, [("A", 1)], [pay("1e5")],
                                                  order_type="sale"))

    assert_problem(response, 422, "validation_error")


def test_void_of_handed_over_order_rejected(api, customer, card):
    order = order_create(api, customer, [("A", 1)], [pay("4.00")])
    expect(api.post(f"/orders/{order['number']}/deliveries", {}))

    with nothing_changes():
        response = api.post(f"/orders/{order['number']}/void",
                            {"refund": "original_tender", "reason": "mistake"})

    assert_problem(response, 409, "invalid_state")


def test_voided_order_with_goods_out_takes_no_payment(api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("34.00")])
    card_line = order["lines"][0]["id"]
    expect(api.post(f"/orders/{order['number']}/deliveries",
                    {"lines": [{"id": card_line, "quantity": 1}]}))
    expect(api.post(f"/orders/{order['number']}/void", {"refund": "none", "reason": "x"}))

    with nothing_changes():
        response = api.post(f"/orders/{order['number']}/payments",
                            {"amount": "1.00", "tender": "card"})

    assert_problem(response, 409, "invalid_state")

"""Money: rounding, tax, cash rounding, payments, refunds and store credit."""

from decimal import Decimal

import pytest

from .helpers import (
    assert_problem,
    deliver,
    expect,
    line_of,
    nothing_changes,
    order_body,
    order_create,
    pay,
    set_settings,
    stock,
)


def discounted(sku: str, quantity: int, discount: str) -> dict:
    return {"sku": sku, "quantity": quantity, "discount_percent": discount}


def refund(api, order: dict, amount: str, **extra):
    return api.post(f"/orders/{order['number']}/refunds",
                    {"amount": amount, "reason": "goodwill", **extra})


def credit_of(api, customer) -> str:
    return expect(api.get(f"/customers/{customer.pk}"))["store_credit"]


@pytest.fixture
def cash_rounding(api, store):
    set_settings(api, cash_rounding="0.05")


@pytest.fixture
def paid_card_and_scarf(api, customer, card, scarf):
    """C's order of a card and a scarf, paid 20.00 cash then 14.00 card."""
    return order_create(api, customer, [("A", 1), ("B", 1)],
                        [pay("20.00"), pay("14.00", "card")])


def test_line_total_rounds_half_up(api, make_item):
    make_item("P", on_hand=1, price="1.25")

    order = order_create(api, None, [discounted("P", 1, "10")], [pay("1.13", "card")],
                         order_type="sale")

    assert line_of(order, "P")["line_total"] == "1.13"
    assert order["total"] == "1.13"


def test_line_total_rounds_once_per_line(api, make_item):
    make_item("P", on_hand=3, price="1.15")

    order = order_create(api, None, [discounted("P", 3, "10")], [pay("3.11", "card")],
                         order_type="sale")

    assert line_of(order, "P")["line_total"] == "3.11"


def test_tax_computed_per_line(api, customer, make_item):
    set_settings(api, tax_rate="8.25")
    make_item("T", on_hand=5, price="9.99", taxable=True)

    order = order_create(api, customer, [("T", 1), ("T", 1)], [pay("21.62", "card")])

    assert [line["tax"] for line in order["lines"]] == ["0.82", "0.82"]
    assert order["subtotal"] == "19.98"
    assert order["tax"] == "1.64"
    assert order["total"] == "21.62"


def test_tax_rounds_half_up(api, customer, make_item):
    set_settings(api, tax_rate="8.25")
    make_item("T", on_hand=5, price="10.00", taxable=True)

    order = order_create(api, customer, [("T", 1)], [pay("10.83", "card")])

    assert order["tax"] == "0.83"
    assert order["total"] == "10.83"


def test_untaxed_item_has_no_tax(api, customer, card):
    set_settings(api, tax_rate="8.25")

    order = order_create(api, customer, [("A", 1)], [pay("4.00", "card")])

    assert order["tax"] == "0.00"


def test_deposit_and_balance_add_up_to_total(api, clerk_api, customer, make_item):
    set_settings(api, tax_rate="8.25")
    make_item("T", on_hand=5, price="9.99", taxable=True)
    body = order_body(customer, [("T", 1), ("T", 1)], [pay("5.40", "card")])

    with nothing_changes():
        rejected = clerk_api.post("/orders", body)
    order = order_create(clerk_api, customer, [("T", 1), ("T", 1)], [pay("5.41", "card")])

    assert assert_problem(rejected, 422, "deposit_below_minimum")["data"]["minimum"] == "5.41"
    assert order["balance"] == "16.21"
    assert Decimal(order["paid"]) + Decimal(order["balance"]) == Decimal(order["total"])


def test_cash_due_rounded_to_step(api, customer, make_item, cash_rounding):
    make_item("P", on_hand=1, price="10.03")

    order = order_create(api, customer, [("P", 1)], [pay("10.05")])
    [payment] = order["payments"]

    assert order["paid"] == "10.03"
    assert order["balance"] == "0.00"
    assert payment["received"] == "10.05"
    assert payment["change"] == "0.00"


def test_cash_due_rounds_down_to_step(api, customer, make_item, cash_rounding):
    make_item("P", on_hand=1, price="10.02")

    order = order_create(api, customer, [("P", 1)], [pay("10.00")])

    assert order["paid"] == "10.02"
    assert order["balance"] == "0.00"
    assert order["payments"][0]["received"] == "10.00"


def test_cash_change_counted_from_rounded_due(api, customer, make_item, cash_rounding):
    make_item("P", on_hand=1, price="10.03")

    order = order_create(api, customer, [("P", 1)], [pay("20.00")])

    assert order["payments"][0]["received"] == "10.05"
    assert order["payments"][0]["change"] == "9.95"


def test_cash_between_balance_and_due_rejected(api, customer, make_item, cash_rounding):
    make_item("P", on_hand=1, price="10.03")
    body = order_body(customer, [("P", 1)], [pay("10.04")])

    with nothing_changes():
        response = api.post("/orders", body)

    assert_problem(response, 422, "validation_error")


def test_two_cash_payments_close_rounded_balance(api, customer, make_item, cash_rounding):
    make_item("P", on_hand=1, price="10.03")
    order = order_create(api, customer, [("P", 1)], [pay("5.00")])

    paid = expect(api.post(f"/orders/{order['number']}/payments", pay("5.05")))

    assert order["balance"] == "5.03"
    assert paid["paid"] == "10.03"
    assert paid["balance"] == "0.00"


def test_card_after_cash_not_rounded(api, customer, make_item, cash_rounding):
    make_item("P", on_hand=1, price="15.28")
    order = order_create(api, customer, [("P", 1)], [pay("10.00")])

    paid = expect(api.post(f"/orders/{order['number']}/payments", pay("5.28", "card")))

    assert order["balance"] == "5.28"
    assert paid["payments"][-1]["received"] == "5.28"
    assert paid["balance"] == "0.00"


def test_card_above_balance_not_rounded(api, customer, make_item, cash_rounding):
    make_item("P", on_hand=1, price="10.03")
    order = order_create(api, customer, [("P", 1)], [pay("5.00", "card")])

    with nothing_changes():
        response = api.post(f"/orders/{order['number']}/payments", pay("5.05", "card"))

    assert_problem(response, 409, "payment_exceeds_balance")


def test_payment_above_balance_rejected(api, clerk_api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("8.50")])

    with nothing_changes():
        response = clerk_api.post(f"/orders/{order['number']}/payments", pay("30.00", "card"))

    assert_problem(response, 409, "payment_exceeds_balance")


def test_payment_excess_to_store_credit(api, clerk_api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("8.50")])

    paid = expect(clerk_api.post(f"/orders/{order['number']}/payments",
                                 pay("30.00", "card", to_store_credit=True)))

    assert paid["paid"] == "34.00"
    assert paid["payments"][-1]["store_credit"] == "4.50"
    assert credit_of(api, customer) == "4.50"


def test_store_credit_pays_order(api, make_customer, card):
    regular = make_customer("Regular R", store_credit=Decimal("10.00"))

    order = order_create(api, regular, [("A", 2)], [pay("8.00", "store_credit")])

    assert order["paid"] == "8.00"
    assert credit_of(api, regular) == "2.00"


def test_store_credit_beyond_balance_rejected(api, make_customer, card):
    regular = make_customer("Regular R", store_credit=Decimal("3.00"))
    body = order_body(regular, [("A", 1)], [pay("4.00", "store_credit")])

    with nothing_changes():
        response = api.post("/orders", body)

    assert_problem(response, 409, "payment_exceeds_balance")


def test_refund_beyond_paid_rejected(api, paid_card_and_scarf):
    with nothing_changes():
        response = refund(api, paid_card_and_scarf, "34.01")

    body = assert_problem(response, 409, "refund_exceeds_paid")
    assert body["data"] == {"amount": "34.01", "paid": "34.00"}


def test_second_refund_beyond_rest_rejected(api, paid_card_and_scarf):
    expect(refund(api, paid_card_and_scarf, "30.00"))

    with nothing_changes():
        response = refund(api, paid_card_and_scarf, "4.01")

    assert_problem(response, 409, "refund_exceeds_paid")


def test_refund_goes_to_original_tenders(api, paid_card_and_scarf):
    order = expect(refund(api, paid_card_and_scarf, "20.00"))
    refunds = sorted((row["tender"], row["amount"]) for row in order["payments"]
                     if row["kind"] == "refund")

    assert refunds == [("card", "14.00"), ("cash", "6.00")]
    assert order["paid"] == "14.00"
    assert order["balance"] == "20.00"


def test_refund_to_store_credit(api, paid_card_and_scarf, customer):
    order = expect(refund(api, paid_card_and_scarf, "10.00", to_store_credit=True))

    assert order["payments"][-1]["tender"] == "store_credit"
    assert order["paid"] == "24.00"
    assert credit_of(api, customer) == "10.00"


def test_refund_of_store_credit_payment_restores_credit(api, make_customer, card):
    regular = make_customer("Regular R", store_credit=Decimal("10.00"))
    order = order_create(api, regular, [("A", 2)], [pay("8.00", "store_credit")])

    refunded = expect(refund(api, order, "8.00"))

    assert refunded["payments"][-1]["tender"] == "store_credit"
    assert credit_of(api, regular) == "10.00"


def test_refund_moves_money_only(api, paid_card_and_scarf):
    before = expect(api.get(f"/orders/{paid_card_and_scarf['number']}"))

    order = expect(refund(api, paid_card_and_scarf, "34.00"))

    assert order["lines"] == before["lines"]
    assert order["status"] == "waiting"
    assert order["total"] == "34.00"
    assert stock(api, "A") == {"on_hand": 10, "reserved": 1, "available": 9}


def test_refund_needs_reason(api, paid_card_and_scarf):
    with nothing_changes():
        response = api.post(f"/orders/{paid_card_and_scarf['number']}/refunds",
                            {"amount": "1.00", "reason": ""})

    assert_problem(response, 422, "validation_error")


def test_voided_refund_leaves_half_due(api, clerk_api, customer, make_item):
    make_item("H", on_hand=1, price="100.00")
    order = order_create(api, customer, [("H", 1)], [pay("50.00", "card")])
    refunded = expect(refund(api, order, "50.00"))
    refund_id = refunded["payments"][-1]["id"]

    restored = expect(api.post(f"/orders/{order['number']}/payments/{refund_id}/void",
                               {"reason": "entered by mistake"}))
    with nothing_changes():
        rejected = deliver(clerk_api, order["number"])

    assert refunded["paid"] == "0.00"
    assert restored["paid"] == "50.00"
    assert restored["balance"] == "50.00"
    assert assert_problem(rejected, 409, "balance_due")["data"]["amount_due"] == "50.00"


def test_voided_payment_leaves_order_unpaid(api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("8.50", "card")])
    payment_id = order["payments"][0]["id"]

    voided = expect(api.post(f"/orders/{order['number']}/payments/{payment_id}/void",
                             {"reason": "card declined"}))

    assert voided["paid"] == "0.00"
    assert voided["payments"][0]["voided"] is True


def test_payment_with_refunds_cannot_be_voided(api, paid_card_and_scarf):
    order = expect(refund(api, paid_card_and_scarf, "5.00"))
    card_payment = order["payments"][1]["id"]

    with nothing_changes():
        response = api.post(f"/orders/{order['number']}/payments/{card_payment}/void",
                            {"reason": "mistake"})

    assert_problem(response, 409, "invalid_state")


@pytest.mark.parametrize(("amount", "message"), [
    ("1.234", "payments[0].amount: '1.234' has more than 2 decimal places; round it to 2"),
    (34, 'payments[0].amount: is not text; send the number as a decimal string in quotes, '
         'such as "34.00"'),
    ("12345678901.00", "payments[0].amount: '12345678901.00' is too large; give at most "
                       "9999999999.99"),
    ("1,5", "payments[0].amount: '1,5' is not a plain decimal number; give digits with at "
            'most one point, such as "34.00"'),
])
def test_bad_amount_message(api, customer, card, amount, message):
    with nothing_changes():
        response = api.post("/orders", {"type": "sales_order", "customer": customer.pk,
                                        "lines": [{"sku": "A", "quantity": 1}],
                                        "payments": [{"amount": amount, "tender": "cash"}]})

    body = assert_problem(response, 422, "validation_error")
    assert body["detail"] == message


@pytest.mark.parametrize("amount", [" 5 ", "5 ", "+5", "5.", ".5", "5\n"])
def test_amount_written_loosely_rejected(api, customer, card, amount):
    with nothing_changes():
        response = api.post("/orders", {"type": "sales_order", "customer": customer.pk,
                                        "lines": [{"sku": "A", "quantity": 1}],
                                        "payments": [{"amount": amount, "tender": "cash"}]})

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "payments[0].amount"
    assert "is not written as a number" in body["detail"]


def test_negative_zero_price_stored_and_shown_as_zero(api, vendor):
    item = expect(api.post("/items", {"sku": "Z", "description": "free leaflet",
                                      "price": "-0"}), 201)

    assert item["price"] == "0.00"
    assert expect(api.get("/items/Z"))["price"] == "0.00"

"""Documents with a thousand distinct items, and totals past the largest amount."""

from decimal import Decimal

from backroom.catalog.models import Item
from backroom.core.money import MAX_AMOUNT

from .helpers import (
    assert_problem,
    expect,
    nothing_changes,
    order_body,
    order_create,
    order_get,
    pay,
    po_submitted,
    receive,
)

ITEMS = 1_000


def test_thousand_items_readable(api, customer, vendor):
    """An order, its PO and their receipt read back with every line and notice."""
    Item.objects.bulk_create([
        Item(sku=f"K{index:04}", description=f"kettle {index}", price=Decimal("1.00"),
             vendor=vendor, taxable=False)
        for index in range(ITEMS)])
    skus = [f"K{index:04}" for index in range(ITEMS)]

    order = order_create(api, customer, [(sku, 1) for sku in skus], [pay("1000.00")])
    po = po_submitted(api)
    receipt = receive(api, po["number"], *[(line["id"], 1) for line in po["lines"]])

    assert len(order_get(api, order["number"])["lines"]) == ITEMS
    assert len(expect(api.get(f"/purchase-orders/{po['number']}"))["lines"]) == ITEMS
    read = expect(api.get(f"/receipts/{receipt['number']}"))
    assert len(read["lines"]) == ITEMS
    assert len(read["notices"]) == ITEMS
    assert order_get(api, order["number"])["status"] == "ready"


def test_total_past_largest_amount_rejected(api, customer, vendor):
    """Each line is within the largest amount, the two together are not."""
    lines = [{"quantity": 1, "description": "bench", "unit_price": str(MAX_AMOUNT - 1),
              "vendor": "V"},
             {"quantity": 1, "description": "stool", "unit_price": "2.00", "vendor": "V"}]

    with nothing_changes():
        response = api.post("/orders", order_body(customer, lines, order_type="custom_order"))

    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["field"] == "lines"
    assert str(MAX_AMOUNT) in problem["detail"]
    assert "10000000000.99" in problem["detail"]


def test_total_at_largest_amount_accepted(api, customer, vendor):
    lines = [{"quantity": 1, "description": "bench", "unit_price": str(MAX_AMOUNT - 1),
              "vendor": "V"},
             {"quantity": 1, "description": "stool", "unit_price": "1.00", "vendor": "V"}]

    order = order_create(api, customer, lines, order_type="custom_order")

    assert order_get(api, order["number"])["total"] == str(MAX_AMOUNT)


def test_negative_free_text_price_rejected(api, customer, vendor):
    lines = [{"quantity": 1, "description": "bench", "unit_price": "-5.00", "vendor": "V"}]

    with nothing_changes():
        response = api.post("/orders", order_body(customer, lines, order_type="custom_order"))

    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["field"] == "lines[0].unit_price"
    assert "-5.00" in problem["detail"]


def test_store_credit_past_largest_amount_rejected(api, customer, card):
    """The excess of two large payments would take the credit past the largest amount."""
    payment = pay(str(MAX_AMOUNT), tender="card", to_store_credit=True)
    order_create(api, customer, [("A", 1)], [payment])

    with nothing_changes():
        response = api.post("/orders", order_body(customer, [("A", 1)], [payment]))

    problem = assert_problem(response, 422, "validation_error")
    assert "store credit would be" in problem["detail"]
    assert str(MAX_AMOUNT) in problem["detail"]
    assert expect(api.get(f"/customers/{customer.pk}"))["store_credit"] == str(MAX_AMOUNT - 4)


def test_quantity_raised_past_largest_amount_rejected(api, customer, vendor):
    lines = [{"quantity": 1, "description": "bench", "unit_price": "9000000000.00",
              "vendor": "V"}]
    order = order_create(api, customer, lines, [pay("2250000000.00", tender="card")],
                         order_type="custom_order")
    line_id = order["lines"][0]["id"]

    with nothing_changes():
        response = api.post(f"/orders/{order['number']}/lines/{line_id}/quantity",
                            {"quantity": 2})

    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["field"] == "quantity"
    assert str(MAX_AMOUNT) in problem["detail"]


def test_quantity_raised_back_within_largest_amount(api, customer, vendor):
    """Cancelled units restored by a raise do not count twice against the largest amount."""
    lines = [{"quantity": 2, "description": "bench", "unit_price": "4000000000.00",
              "vendor": "V"}]
    order = order_create(api, customer, lines, [pay("2000000000.00", tender="card")],
                         order_type="custom_order")
    line_id = order["lines"][0]["id"]
    expect(api.post(f"/orders/{order['number']}/lines/{line_id}/cancel", {"quantity": 1}))

    raised = expect(api.post(f"/orders/{order['number']}/lines/{line_id}/quantity",
                             {"quantity": 2}))

    assert raised["lines"][0]["quantity"] == 2
    assert raised["lines"][0]["cancelled"] == 0
    assert raised["total"] == "8000000000.00"

"""Requests made for items or custom pieces without a vendor can still be ordered."""

from decimal import Decimal

from backroom.catalog.models import Item

from .helpers import (
    assert_problem,
    expect,
    nothing_changes,
    order_body,
    order_create,
    pay,
    po_create,
    po_line_of,
    requests_of,
)


def test_request_joins_po_of_item_vendor_set_later(api, customer, vendor):
    Item.objects.create(sku="N", description="no-vendor mug", price=Decimal("5.00"),
                        taxable=False)
    order_create(api, customer, [("N", 2)], [pay("10.00")])
    Item.objects.filter(sku="N").update(vendor=vendor)

    po = po_create(api, "V")

    assert po_line_of(po, "N")["quantity"] == 2
    assert [row["vendor"] for row in requests_of(api)] == ["V"]


def test_custom_piece_request_gets_vendor_then_po(api, customer, vendor):
    body = order_body(customer, [{"quantity": 1, "description": "silver ring",
                                  "unit_price": "120.00"}], [pay("30.00")],
                      order_type="custom_order")
    expect(api.post("/orders", body), 201)
    [request] = requests_of(api)

    changed = expect(api.patch(f"/purchase-requests/{request['id']}", {"vendor": "V"}))
    po = po_create(api, "V")

    assert changed["vendor"] == "V"
    assert po["lines"][0]["customer_requests"][0]["quantity"] == 1


def test_request_vendor_must_exist(api, customer, scarf):
    order_create(api, customer, [("B", 1)], [pay("30.00")])
    [request] = requests_of(api)

    with nothing_changes():
        response = api.patch(f"/purchase-requests/{request['id']}", {"vendor": "NOPE"})

    assert_problem(response, 404, "not_found")


def test_request_on_po_keeps_vendor(api, customer, scarf):
    order_create(api, customer, [("B", 1)], [pay("30.00")])
    po_create(api, "V")
    [request] = requests_of(api)

    with nothing_changes():
        response = api.patch(f"/purchase-requests/{request['id']}", {"vendor": "V"})

    assert_problem(response, 409, "invalid_state")

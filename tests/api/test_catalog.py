"""Vendors, items and customers through the API."""

import pytest

from backroom.customers.services import walk_in_customer

from .helpers import assert_problem, expect, nothing_changes

SCARF = {"sku": "SCARF-RED", "description": "red wool scarf", "price": "29.50",
         "cost": "12.00", "vendor": "V", "vendor_sku": "RW-1", "category": "scarves",
         "barcode": "0123456789012", "taxable": True, "reorder_point": 2,
         "reorder_quantity": 6}


def test_vendor_created(api):
    vendor = expect(api.post("/vendors", {"code": "KN", "name": "Knitters",
                                          "email": "orders@knitters.example",
                                          "lead_time_days": 12}), 201)
    listed = expect(api.get("/vendors"))["items"]

    assert vendor == {"code": "KN", "name": "Knitters", "email": "orders@knitters.example",
                      "lead_time_days": 12}
    assert [row["code"] for row in listed] == ["KN"]


def test_duplicate_vendor_rejected(api, vendor):
    with nothing_changes():
        response = api.post("/vendors", {"code": "V", "name": "Again"})

    assert_problem(response, 409, "conflict")


def test_item_created_with_empty_buckets(api, vendor):
    item = expect(api.post("/items", SCARF), 201)

    assert item["price"] == "29.50"
    assert item["vendor"] == "V"
    assert item["barcodes"] == ["0123456789012"]
    assert [item[name] for name in ("on_hand", "reserved", "available", "requested",
                                    "on_order", "back_ordered")] == [0, 0, 0, 0, 0, 0]


def test_item_without_cost_shows_cents(api, vendor):
    body = {name: value for name, value in SCARF.items() if name != "cost"}

    item = expect(api.post("/items", body), 201)

    assert item["cost"] == "0.00"


def test_duplicate_sku_rejected(api, vendor):
    expect(api.post("/items", SCARF), 201)

    with nothing_changes():
        response = api.post("/items", dict(SCARF, barcode="999"))

    assert_problem(response, 409, "conflict")


def test_item_with_unknown_vendor_rejected(api):
    with nothing_changes():
        response = api.post("/items", dict(SCARF, vendor="NOPE"))

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "vendor"


def test_items_found_by_barcode_and_words(api, vendor, card):
    expect(api.post("/items", SCARF), 201)

    by_barcode = expect(api.get("/items", q="0123456789012"))["items"]
    by_words = expect(api.get("/items", q="wool red"))["items"]

    assert [item["sku"] for item in by_barcode] == ["SCARF-RED"]
    assert [item["sku"] for item in by_words] == ["SCARF-RED"]


def test_customer_created(api):
    customer = expect(api.post("/customers", {"name": "Ada Lovelace",
                                              "email": "ada@example.com", "notify": True}), 201)
    record = expect(api.get(f"/customers/{customer['id']}"))

    assert customer["store_credit"] == "0.00"
    assert record["name"] == "Ada Lovelace"
    assert record["open_orders"] == []
    assert record["store_credit"] == "0.00"


def test_customer_notify_setting_changed_alone(api):
    customer = expect(api.post("/customers", {"name": "Ada Lovelace", "email": "ada@example.com",
                                              "phone": "0123"}), 201)

    changed = expect(api.patch(f"/customers/{customer['id']}", {"notify": False}))
    record = expect(api.get(f"/customers/{customer['id']}"))

    assert changed["notify"] is False
    assert (record["name"], record["email"], record["phone"], record["notify"]) == (
        "Ada Lovelace", "ada@example.com", "0123", False)


def test_customer_contact_changed(api):
    customer = expect(api.post("/customers", {"name": "Ada", "email": "ada@example.com"}), 201)

    expect(api.patch(f"/customers/{customer['id']}", {"name": "Ada King", "email": ""}))
    record = expect(api.get(f"/customers/{customer['id']}"))

    assert (record["name"], record["email"], record["notify"]) == ("Ada King", "", True)


@pytest.mark.parametrize(("body", "field"), [
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"notify": None}, "notify"),
    ({"email": "not an address"}, "email"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_customer_change_rejected(api, body, field):
    customer = expect(api.post("/customers", {"name": "Ada", "email": "ada@example.com"}), 201)

    with nothing_changes():
        response = api.patch(f"/customers/{customer['id']}", body)

    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["field"] == field


def test_walk_in_customer_cannot_be_changed(api):
    walk_in = walk_in_customer()

    with nothing_changes():
        response = api.patch(f"/customers/{walk_in.pk}", {"notify": False})

    assert_problem(response, 422, "validation_error")


def test_change_of_unknown_customer_not_found(api):
    assert_problem(api.patch("/customers/999999", {"notify": False}), 404, "not_found")


def test_customer_without_name_rejected(api):
    with nothing_changes():
        response = api.post("/customers", {"name": ""})

    assert_problem(response, 422, "validation_error")


def test_customer_address_that_cannot_be_sent_rejected(api):
    with nothing_changes():
        response = api.post("/customers", {"name": "Odd", "email": "x@" + "\u00e4" * 60 + ".com"})

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "email"

"""Order status lists, CSV export, customers, items and vendors with Django's test client."""

import csv
import io
from decimal import Decimal

import pytest

from backroom.catalog.models import Item, Vendor
from backroom.customers.models import Customer
from backroom.sales.payments import PaymentInput
from backroom.sales.services import LineInput, order_create


def sales_order(user, customer, sku: str, quantity: int = 1, paid: str = "0"):
    return order_create(
        user=user, order_type="sales_order", customer_id=customer.pk,
        lines=[LineInput(sku=sku, quantity=quantity)],
        payments=[PaymentInput(amount=Decimal(paid), tender="cash")] if paid != "0" else [])


@pytest.fixture
def orders(owner, customer, card, scarf, store):
    store.minimum_deposit_percent = Decimal("0")
    store.save()
    other = Customer.objects.create(name="Other Olga")
    return {
        "waiting": sales_order(owner, customer, "B"),
        "ready": sales_order(owner, other, "A"),
    }


def test_waiting_list(owner_client, orders):
    response = owner_client.get("/orders/?status=waiting")

    numbers = [order.number for order in response.context["page_obj"]]
    assert numbers == [orders["waiting"].number]


def test_pending_list_filtered_by_customer(owner_client, orders):
    response = owner_client.get("/orders/?status=pending&customer=olga")

    numbers = [order.number for order in response.context["page_obj"]]
    assert numbers == [orders["ready"].number]


def test_lines_view_puts_back_orders_first(owner_client, orders):
    response = owner_client.get("/orders/?status=pending&view=lines")

    skus = [line.item.sku for line in response.context["page_obj"]]
    assert skus == ["B", "A"]


def test_filter_by_vendor_and_item(owner_client, orders):
    by_item = owner_client.get("/orders/?status=pending&item=blue")
    by_vendor = owner_client.get("/orders/?status=pending&vendor=NONE")

    assert [o.number for o in by_item.context["page_obj"]] == [orders["waiting"].number]
    assert list(by_vendor.context["page_obj"]) == []


@pytest.mark.parametrize("age", ["old", "²", "99999999999999999999999", "1" * 5000])
def test_bad_age_filter_shows_error(owner_client, orders, age):
    response = owner_client.get("/orders/", {"status": "waiting", "age": age})

    assert response.status_code == 200
    assert response.context["errors"]["age"] == (
        f"'{age}' is not a whole number of days from 0 to 99999.")


@pytest.mark.parametrize("text", ["²", "١", "9" * 30, "1" * 5000])
def test_odd_customer_filter_matches_nothing(owner_client, orders, text):
    response = owner_client.get("/orders/", {"status": "pending", "customer": text})

    assert response.status_code == 200
    assert list(response.context["page_obj"]) == []


def test_sort_by_balance(owner_client, orders):
    response = owner_client.get("/orders/?status=pending&sort=-balance")

    assert [o.number for o in response.context["page_obj"]] == [
        orders["waiting"].number, orders["ready"].number]


def test_csv_export(owner_client, orders):
    response = owner_client.get("/orders/export.csv?status=pending&view=lines")

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["order", "customer", "sku"]
    assert [row[2] for row in rows[1:]] == ["B", "A"]


def test_list_is_paginated(owner, owner_client, customer, card, store):
    for _ in range(51):
        sales_order(owner, customer, "A", paid="4.00")

    first = owner_client.get("/orders/?status=pending")
    second = owner_client.get("/orders/?status=pending&page=2")

    assert len(first.context["page_obj"]) == 50
    assert len(second.context["page_obj"]) == 1
    assert "Page 1 of 2" in first.content.decode()


def test_customer_page_shows_balance_due(owner_client, orders, customer):
    response = owner_client.get(f"/customers/{customer.pk}/")

    assert response.context["balance_due"] == Decimal("30.00")
    assert [o.number for o in response.context["open_orders"]] == [orders["waiting"].number]


def test_customer_edit_bad_email_keeps_values(owner_client, customer):
    response = owner_client.post(f"/customers/{customer.pk}/",
                                 {"name": "Customer C2", "email": "nope", "phone": ""})

    assert response.status_code == 422
    assert "'nope' is not a valid e-mail" in response.context["state"].errors["email"]
    assert 'value="Customer C2"' in response.content.decode()
    customer.refresh_from_db()
    assert customer.name == "Customer C"


def test_customer_add_without_name(owner_client, db):
    response = owner_client.post("/customers/", {"name": " ", "email": "x@example.com"})

    assert "name is empty" in response.context["state"].errors["name"]
    assert not Customer.objects.filter(email="x@example.com").exists()


def test_item_create_reports_every_field(owner_client, vendor):
    response = owner_client.post("/items/", {
        "action": "create", "sku": "", "description": "", "price": "4.00", "cost": "-1",
        "vendor": "V", "reorder_point": "x"})

    errors = response.context["state"].errors
    assert errors["cost"] == "Enter 0 or more."
    assert errors["reorder_point"] == "'x' is not a whole number."
    assert not Item.objects.exists()


def test_item_create_invalid_sku_and_description(owner_client, vendor):
    response = owner_client.post("/items/", {
        "action": "create", "sku": "", "description": "", "price": "4.00", "vendor": "V"})

    errors = response.context["state"].errors
    assert "SKU '' is invalid" in errors["sku"]
    assert errors["description"] == "The description is empty."


def test_empty_item_form_shows_every_error(owner_client, vendor):
    response = owner_client.post("/items/", {
        "action": "create", "sku": "", "description": "", "price": ""})

    errors = response.context["state"].errors
    assert errors["price"] == "Enter an amount."
    assert "SKU '' is invalid" in errors["sku"]
    assert errors["description"] == "The description is empty."


def test_item_create_needs_manage_catalog(clerk_client, vendor):
    response = clerk_client.post("/items/", {"action": "create", "sku": "N", "price": "1.00",
                                             "description": "new thing", "taxable": "1"})

    assert response.context["state"].approval.permission == "manage_catalog"


def test_stock_adjustment(owner_client, card):
    owner_client.post("/items/A/adjust/", {"quantity": "5", "reason": "Found in back"})

    card.refresh_from_db()
    assert card.on_hand == 15


def test_stock_adjustment_below_available(owner_client, card):
    response = owner_client.post("/items/A/adjust/", {"quantity": "-11", "reason": "Broken"})

    assert "Only 10 of A are available" in response.context["state"].errors["quantity"]
    card.refresh_from_db()
    assert card.on_hand == 10


def test_stock_adjustment_serves_waiting_customer(owner_client, orders, scarf):
    owner_client.post("/items/B/adjust/", {"quantity": "1", "reason": "Found one"})

    orders["waiting"].refresh_from_db()
    assert orders["waiting"].status == "ready"


def test_vendor_create_bad_lead_time(owner_client, db):
    response = owner_client.post("/vendors/", {"action": "create", "code": "W", "name": "W",
                                               "lead_time_days": "400"})

    assert "Lead time 400 days is out of range" in response.context["state"].errors[
        "lead_time_days"]
    assert not Vendor.objects.exists()


def test_empty_vendor_form_shows_every_error(owner_client, db):
    response = owner_client.post("/vendors/", {"action": "create", "code": "", "name": "",
                                               "lead_time_days": ""})

    errors = response.context["state"].errors
    assert errors["lead_time_days"] == "Enter a quantity."
    assert errors["code"] == "Enter the vendor code."
    assert errors["name"] == "Enter the vendor's name."
    assert not Vendor.objects.exists()


def test_filter_by_order_type(owner, owner_client, orders, customer):
    special = order_create(user=owner, order_type="special_order", customer_id=customer.pk,
                           lines=[LineInput(sku="A", quantity=1)], payments=[])

    response = owner_client.get("/orders/?status=waiting&type=special_order")

    assert [o.number for o in response.context["page_obj"]] == [special.number]


def test_unknown_order_type_filter(owner_client, orders):
    response = owner_client.get("/orders/?status=waiting&type=barter")

    assert response.context["errors"]["type"] == "Unknown order type 'barter'; showing every type."
    assert len(response.context["page_obj"]) == 1

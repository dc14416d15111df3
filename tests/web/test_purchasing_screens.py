"""Purchasing, receiving, settings and users with Django's test client."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from backroom.accounts.models import ApiToken
from backroom.core.models import StoreSettings
from backroom.purchasing.models import PurchaseOrder, PurchaseRequest, Receipt
from backroom.purchasing.services import purchase_order_create, purchase_order_submit
from backroom.sales.payments import PaymentInput
from backroom.sales.services import LineInput, order_create


@pytest.fixture
def scarf_order(owner, customer, scarf, store):
    return order_create(
        user=owner, order_type="sales_order", customer_id=customer.pk,
        lines=[LineInput(sku="B", quantity=2)],
        payments=[PaymentInput(amount=Decimal("60.00"), tender="card")])


@pytest.fixture
def submitted_po(owner, scarf_order):
    po = purchase_order_create(user=owner, vendor="V", include_purchase_requests=True)
    return purchase_order_submit(user=owner, number=po.number)


def test_requests_grouped_by_vendor(owner_client, scarf_order):
    response = owner_client.get("/purchasing/")

    [group] = response.context["groups"]
    assert group["vendor__code"] == "V"
    assert group["units"] == 2
    assert group["customers"] == 1


def test_po_needs_vendor(owner_client, scarf_order):
    response = owner_client.post("/purchasing/new/", {"vendor": "",
                                                      "include_purchase_requests": "1"})

    assert response.context["state"].errors["vendor"] == "Choose the vendor."
    assert not PurchaseOrder.objects.exists()


def test_po_bad_expected_date(owner_client, scarf_order):
    response = owner_client.post("/purchasing/new/", {"vendor": "V", "expected_date": "soon"})

    assert "'soon' is not a date" in response.context["state"].errors["expected_date"]


def test_clerk_po_needs_approval(clerk_client, scarf_order):
    response = clerk_client.post("/purchasing/new/", {"vendor": "V",
                                                      "include_purchase_requests": "1"})

    assert response.context["state"].approval.permission == "manage_purchasing"


def test_po_with_requests_covers_customer(owner_client, scarf_order):
    response = owner_client.post("/purchasing/new/", {"vendor": "V",
                                                      "include_purchase_requests": "1"})
    page = owner_client.get(response["Location"])

    [line] = page.context["lines"]
    assert line.quantity == 2
    assert [request.customer.name for request in line.covers] == ["Customer C"]


def test_po_line_update_bad_cost(owner, owner_client, scarf_order):
    po = purchase_order_create(user=owner, vendor="V", include_purchase_requests=True)
    line = po.lines.get()

    response = owner_client.post(f"/purchasing/orders/{po.number}/lines/{line.pk}/update/",
                                 {"quantity": "3", "cost": "cheap"})

    assert "'cheap' is not an amount" in response.context["state"].errors["cost"]
    line.refresh_from_db()
    assert line.quantity == 2


def test_po_line_update_below_covered_reopens(owner, owner_client, scarf_order):
    po = purchase_order_create(user=owner, vendor="V", include_purchase_requests=True)
    line = po.lines.get()

    owner_client.post(f"/purchasing/orders/{po.number}/lines/{line.pk}/update/",
                      {"quantity": "1", "cost": "14.00"})

    assert PurchaseRequest.objects.get().status == "open"


def test_submit_empty_po_shows_error(owner_client, vendor, owner):
    po = purchase_order_create(user=owner, vendor="V")

    response = owner_client.post(f"/purchasing/orders/{po.number}/submit/")

    assert "has no lines" in response.context["state"].message


def test_second_submit_shows_message(owner_client, submitted_po):
    """A stale page's submit, whose form is gone from the submitted PO's page."""
    response = owner_client.post(f"/purchasing/orders/{submitted_po.number}/submit/")

    message = (f"Purchase order {submitted_po.number} is submitted; only a draft can be "
               "submitted.")
    assert response.status_code == 422
    assert f'<div class="errorbox" role="alert">{message}</div>' in response.content.decode()


def test_cancel_po_reopens_requests(owner_client, submitted_po):
    owner_client.post(f"/purchasing/orders/{submitted_po.number}/cancel/", {"reason": "Late"})

    submitted_po.refresh_from_db()
    assert submitted_po.status == "cancelled"
    assert PurchaseRequest.objects.get().needs_ordering


def test_po_list_filters_status(owner_client, submitted_po):
    drafts = owner_client.get("/purchasing/orders/?status=draft")
    submitted = owner_client.get("/purchasing/orders/?status=submitted")

    assert list(drafts.context["page_obj"]) == []
    assert [po.number for po in submitted.context["page_obj"]] == [submitted_po.number]


def test_receive_nothing_entered(clerk_client, submitted_po):
    response = clerk_client.post(f"/receiving/{submitted_po.number}/", {})

    assert "Enter the units received" in response.context["state"].message
    assert not Receipt.objects.exists()


def test_receive_over_quantity_marks_line(clerk_client, submitted_po):
    line = submitted_po.lines.get()

    response = clerk_client.post(f"/receiving/{submitted_po.number}/",
                                 {f"receive-{line.pk}": "3"})

    assert "3 is more than the 2" in response.context["state"].errors[f"receive-{line.pk}"]
    assert 'value="3"' in response.content.decode()
    assert not Receipt.objects.exists()


def test_receive_part_and_close_short(clerk_client, submitted_po, scarf_order):
    line = submitted_po.lines.get()

    response = clerk_client.post(f"/receiving/{submitted_po.number}/",
                                 {f"receive-{line.pk}": "1", f"close-{line.pk}": "1"})

    receipt = Receipt.objects.get()
    assert response["Location"] == f"/receiving/receipts/{receipt.number}/"
    page = clerk_client.get(response["Location"]).content.decode()
    assert f"1 × blue scarf for Customer C, order #{scarf_order.number}" in page
    request = PurchaseRequest.objects.get(status="open")
    assert request.needs_ordering


def test_settings_saved(owner_client, store):
    response = owner_client.post("/settings/", {
        "deposit_percent": "30", "minimum_deposit_percent": "10", "tax_rate": "8.25",
        "cash_rounding": "0.05", "over_receipt_tolerance_percent": "5",
        "ready_reminder_days": "5", "currency": "usd"})

    assert response.status_code == 302
    store = StoreSettings.load()
    assert store.deposit_percent == Decimal("30")
    assert store.tax_rate == Decimal("8.250")
    assert store.currency == "USD"


def test_settings_bad_values_keep_input(owner_client, store):
    response = owner_client.post("/settings/", {
        "deposit_percent": "abc", "minimum_deposit_percent": "150", "tax_rate": "0",
        "cash_rounding": "0", "over_receipt_tolerance_percent": "0",
        "ready_reminder_days": "7", "currency": "USD"})

    assert "'abc' is not an amount" in response.context["state"].errors["deposit_percent"]
    assert 'value="abc"' in response.content.decode()
    assert StoreSettings.load().deposit_percent == Decimal("25")


def test_settings_out_of_range(owner_client, store):
    response = owner_client.post("/settings/", {
        "deposit_percent": "25", "minimum_deposit_percent": "150", "tax_rate": "0",
        "cash_rounding": "0", "over_receipt_tolerance_percent": "0",
        "ready_reminder_days": "7", "currency": "USD"})

    assert "150 is out of range" in response.context["state"].errors["minimum_deposit_percent"]


def test_user_create_weak_password(owner_client, roles):
    response = owner_client.post("/users/", {"username": "dan", "role": "clerk",
                                             "password": "short"})

    assert "Password rejected" in response.context["state"].errors["password"]
    assert 'value="dan"' in response.content.decode()
    assert not User.objects.filter(username="dan").exists()


def test_user_create_and_role(owner_client, roles):
    owner_client.post("/users/", {"username": "dan", "role": "clerk",
                                  "password": "a-long-Pass-2026"})
    owner_client.post("/users/dan/", {"action": "role", "role": "supervisor"})

    dan = User.objects.get(username="dan")
    assert [group.name for group in dan.groups.all()] == ["supervisor"]


def test_user_extra_permission(owner_client, clerk):
    owner_client.post("/users/carl/", {"action": "permissions", "permission": ["refund"]})

    clerk = User.objects.get(pk=clerk.pk)
    assert clerk.has_perm("accounts.refund")


def test_api_token_shown_once_and_revoked(owner_client, clerk):
    response = owner_client.post("/users/carl/", {"action": "token", "token_name": "till 1"})
    assert response.context["secret"].startswith("br_")

    token = ApiToken.objects.get()
    owner_client.post("/users/carl/", {"action": "revoke", "token": str(token.pk)})

    token.refresh_from_db()
    assert token.revoked_at is not None


@pytest.mark.parametrize("token_id", ["abc", "²", "9" * 30])
def test_revoke_odd_token_id(owner_client, clerk, token_id):
    owner_client.post("/users/carl/", {"action": "token", "token_name": "till 1"})

    response = owner_client.post("/users/carl/", {"action": "revoke", "token": token_id})

    assert response.status_code == 422
    token_text = token_id if len(token_id) <= 20 else token_id[:20] + "..."
    assert response.context["state"].message == (
        f"API token '{token_text}' not found; reload the page.")
    assert ApiToken.objects.get().revoked_at is None


def test_deactivate_user(owner_client, clerk):
    owner_client.post("/users/carl/", {"action": "deactivate"})

    assert not User.objects.get(pk=clerk.pk).is_active


def test_owner_cannot_deactivate_self(owner_client, owner):
    response = owner_client.post("/users/olive/", {"action": "deactivate"})

    assert "cannot deactivate yourself" in response.context["state"].message


def test_clerk_submit_prompt_sits_in_its_form(clerk_client, owner, scarf_order):
    po = purchase_order_create(user=owner, vendor="V", include_purchase_requests=True)
    url = f"/purchasing/orders/{po.number}/submit/"

    response = clerk_client.post(url)

    page = response.content.decode()
    form = page[page.index(f'action="{url}"'):]
    assert 'name="approver_username"' in form[:form.index("</form>")]
    po.refresh_from_db()
    assert po.status == "draft"


def test_po_line_error_stays_in_its_form(owner, owner_client, scarf_order):
    po = purchase_order_create(user=owner, vendor="V", include_purchase_requests=True)
    line = po.lines.get()

    response = owner_client.post(f"/purchasing/orders/{po.number}/lines/{line.pk}/update/",
                                 {"quantity": "abc", "cost": "15.00"})

    page = response.content.decode()
    start = page.index(f'action="/purchasing/orders/{po.number}/add-line/"')
    add_line = page[start:page.index("</form>", start)]
    assert response.context["state"].errors["quantity"] == "'abc' is not a whole number."
    assert 'value="abc"' not in add_line
    assert 'value="15.00"' not in add_line
    assert 'class="error"' not in add_line

"""The order page's forms with Django's test client: Operations, payments, Deliver, void."""

from decimal import Decimal

import pytest
from django.db import InterfaceError, OperationalError

from backroom.core.models import Event
from backroom.purchasing.models import PurchaseRequest
from backroom.sales.models import Order
from backroom.sales.payments import PaymentInput, order_refund
from backroom.sales.services import LineInput, order_create, order_deliver, order_void


def new_order(user, customer, payment: str | None, hold: bool = False) -> Order:
    return order_create(
        user=user, order_type="sales_order", customer_id=customer.pk, hold=hold,
        lines=[LineInput(sku="A", quantity=2), LineInput(sku="B", quantity=1)],
        payments=[PaymentInput(amount=Decimal(payment), tender="cash")] if payment else [])


@pytest.fixture
def paid_order(owner, customer, card, scarf, store):
    return new_order(owner, customer, "38.00")


@pytest.fixture
def deposit_order(owner, customer, card, scarf, store):
    return new_order(owner, customer, "9.50")


@pytest.fixture
def cards_on_deposit(owner, customer, card, store):
    """Five ready birthday cards (20.00) with the minimum deposit of 5.00 paid."""
    return order_create(
        user=owner, order_type="sales_order", customer_id=customer.pk,
        lines=[LineInput(sku="A", quantity=5)],
        payments=[PaymentInput(amount=Decimal("5.00"), tender="cash")])


def line_url(order: Order, sku: str, action: str) -> str:
    line = order.lines.get(item__sku=sku)
    return f"/orders/{order.number}/lines/{line.pk}/{action}/"


def test_order_page_shows_buckets(owner_client, paid_order):
    page = owner_client.get(f"/orders/{paid_order.number}/").content.decode()

    assert "Waiting · 1 of 2 ready" in page
    assert "Operations" in page
    assert "Back order item" in page


def test_back_order_item(owner_client, paid_order, card):
    response = owner_client.post(line_url(paid_order, "A", "back-order"), {"quantity": "1"})

    assert response.status_code == 302
    line = paid_order.lines.get(item=card)
    assert (line.ready, line.back_ordered) == (1, 1)


def test_back_order_too_many_units(owner_client, paid_order, card):
    response = owner_client.post(line_url(paid_order, "A", "back-order"), {"quantity": "5"})

    assert response.status_code == 422
    assert "back-order from 1 to 2 units" in response.context["state"].errors["quantity"]
    assert paid_order.lines.get(item=card).ready == 2


def test_change_quantity_not_a_number(owner_client, paid_order):
    response = owner_client.post(line_url(paid_order, "A", "change-quantity"),
                                 {"quantity": "x"})

    assert response.status_code == 422
    assert response.context["state"].errors["quantity"] == "'x' is not a whole number."
    assert 'value="x"' in response.content.decode()


def test_change_quantity_raises_back_order(owner_client, paid_order, scarf):
    owner_client.post(line_url(paid_order, "B", "change-quantity"), {"quantity": "3"})

    assert paid_order.lines.get(item=scarf).back_ordered == 3


def test_cancel_units_with_refund(owner_client, paid_order, scarf):
    response = owner_client.post(line_url(paid_order, "B", "cancel"),
                                 {"quantity": "1", "refund": "original_tender"})

    assert response.status_code == 302
    paid_order.refresh_from_db()
    assert paid_order.total == Decimal("8.00")
    assert paid_order.paid == Decimal("8.00")


def test_deliver_line_collects_nothing_when_paid(owner_client, paid_order, card):
    owner_client.post(line_url(paid_order, "A", "deliver"), {"quantity": "2", "amount": ""})

    assert paid_order.lines.get(item=card).delivered == 2


def test_deliver_with_balance_asks_clerk_for_approval(clerk_client, cards_on_deposit, card):
    response = clerk_client.post(line_url(cards_on_deposit, "A", "deliver"),
                                 {"quantity": "5", "amount": ""})

    assert response.status_code == 422
    assert response.context["state"].approval.permission == "deliver_with_balance"
    assert cards_on_deposit.lines.get().delivered == 0


def test_deliver_with_balance_approved(clerk_client, manager, cards_on_deposit):
    response = clerk_client.post(line_url(cards_on_deposit, "A", "deliver"), {
        "quantity": "5", "amount": "", "approver_username": "maria",
        "approver_password": "counter-Pass-2026", "approval_permission": "deliver_with_balance"})

    assert response.status_code == 302
    assert cards_on_deposit.lines.get().delivered == 5
    assert Event.objects.filter(action="approved_by", order=cards_on_deposit).exists()


def test_deliver_collects_amount_due(clerk_client, cards_on_deposit):
    page = clerk_client.get(f"/orders/{cards_on_deposit.number}/")
    assert page.context["due"] == Decimal("15.00")

    response = clerk_client.post(f"/orders/{cards_on_deposit.number}/deliver/",
                                 {"tender": "cash", "amount": "15.00"})

    assert response.status_code == 302
    cards_on_deposit.refresh_from_db()
    assert cards_on_deposit.status == "delivered"
    assert cards_on_deposit.paid == Decimal("20.00")


def test_deliver_short_of_amount_due(clerk_client, cards_on_deposit):
    response = clerk_client.post(f"/orders/{cards_on_deposit.number}/deliver/",
                                 {"tender": "cash", "amount": "10.00"})

    assert response.context["state"].approval.permission == "deliver_with_balance"
    assert "Collect 5.00" in response.content.decode()
    assert 'value="10.00"' in response.content.decode()


def test_take_payment_bad_amount(owner_client, deposit_order):
    response = owner_client.post(f"/orders/{deposit_order.number}/payment/",
                                 {"tender": "cash", "amount": "ten"})

    assert response.status_code == 422
    assert "'ten' is not an amount" in response.context["state"].errors["amount"]


def test_take_payment_empty_amount(owner_client, deposit_order):
    response = owner_client.post(f"/orders/{deposit_order.number}/payment/",
                                 {"tender": "card", "amount": ""})

    assert response.context["state"].errors["amount"] == "Enter an amount."


def test_take_payment(owner_client, deposit_order):
    owner_client.post(f"/orders/{deposit_order.number}/payment/",
                      {"tender": "card", "amount": "10.00"})

    deposit_order.refresh_from_db()
    assert deposit_order.paid == Decimal("19.50")


def test_refund_by_clerk_needs_approval(clerk_client, paid_order):
    response = clerk_client.post(f"/orders/{paid_order.number}/refund/",
                                 {"amount": "5.00", "reason": "Price match"})

    approval = response.context["state"].approval
    assert approval.permission == "refund"
    assert approval.detail == "This needs a manager who may refund payments; ask one to approve it."
    assert "'refund'" not in response.content.decode()
    paid_order.refresh_from_db()
    assert paid_order.paid == Decimal("38.00")


def test_refund_needs_reason(owner_client, paid_order):
    response = owner_client.post(f"/orders/{paid_order.number}/refund/",
                                 {"amount": "5.00", "reason": ""})

    assert response.context["state"].errors["reason"] == "Give a reason for the refund."


def test_refund_above_paid(owner_client, paid_order):
    response = owner_client.post(f"/orders/{paid_order.number}/refund/",
                                 {"amount": "99.00", "reason": "Mistake"})

    assert "refund at most 38.00" in response.context["state"].errors["amount"]


def test_void_needs_reason(owner_client, paid_order):
    response = owner_client.post(f"/orders/{paid_order.number}/void/",
                                 {"reason": "", "refund": "original_tender"})

    assert response.context["state"].errors["reason"] == "Give a reason for voiding the order."
    paid_order.refresh_from_db()
    assert paid_order.status == "waiting"


def test_void_refunds_and_releases(owner_client, paid_order, card):
    owner_client.post(f"/orders/{paid_order.number}/void/",
                      {"reason": "Customer changed mind", "refund": "original_tender"})

    paid_order.refresh_from_db()
    card.refresh_from_db()
    assert paid_order.status == "cancelled"
    assert paid_order.paid == Decimal("0.00")
    assert card.reserved == 0
    request = PurchaseRequest.objects.get(order=paid_order)
    assert request.status == "cancelled"


def test_clerk_void_asks_approval(clerk_client, paid_order):
    response = clerk_client.post(f"/orders/{paid_order.number}/void/",
                                 {"reason": "Changed mind", "refund": "original_tender"})

    assert response.context["state"].approval.permission == "void"


def test_finalize_order_on_hold(owner, owner_client, customer, card, scarf, store):
    order = new_order(owner, customer, None, hold=True)

    response = owner_client.post(f"/orders/{order.number}/finalize/",
                                 {"tender": "cash", "amount": "9.50"})

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "waiting"


def test_add_line_unknown_sku(owner_client, paid_order):
    response = owner_client.post(f"/orders/{paid_order.number}/add-line/",
                                 {"sku": "ZZZ", "quantity": "1"})

    assert "Item 'ZZZ' not found" in response.context["state"].errors["sku"]
    assert 'value="ZZZ"' in response.content.decode()


def test_priority_needs_whole_number(owner_client, paid_order):
    response = owner_client.post(f"/orders/{paid_order.number}/priority/", {"priority": "high"})

    assert response.context["state"].errors["priority"] == "'high' is not a whole number."


def test_action_on_voided_order_shows_message(owner_client, paid_order, card):
    owner_client.post(f"/orders/{paid_order.number}/void/",
                      {"reason": "Customer changed mind", "refund": "original_tender"})
    line = paid_order.lines.get(item=card)

    response = owner_client.post(f"/orders/{paid_order.number}/lines/{line.pk}/deliver/",
                                 {"quantity": "1", "tender": "cash", "amount": ""})

    page = response.content.decode()
    assert response.status_code == 422
    assert response.context["state"].stale
    assert f'<div class="errorbox" role="alert">{response.context["state"].message}</div>' in page


def test_void_payment(owner_client, deposit_order):
    payment = deposit_order.payments.get()

    owner_client.post(f"/orders/{deposit_order.number}/void-payment/",
                      {"payment": str(payment.pk), "reason": "Wrong order"})

    deposit_order.refresh_from_db()
    assert deposit_order.paid == Decimal("0.00")


def test_pick_up_label(owner_client, paid_order):
    page = owner_client.get(f"/orders/{paid_order.number}/label/").content.decode()

    assert "Customer C" in page
    assert "2 × birthday card" in page


def test_unknown_operation_is_404(owner_client, paid_order):
    assert owner_client.post(line_url(paid_order, "A", "explode")).status_code == 404
    assert owner_client.post(f"/orders/{paid_order.number}/explode/").status_code == 404


def test_add_line_to_order_on_hold(owner, owner_client, customer, card, scarf, store):
    order = new_order(owner, customer, None, hold=True)

    response = owner_client.post(f"/orders/{order.number}/add-line/",
                                 {"sku": "A", "quantity": "2"})

    assert response.status_code == 302
    assert order.lines.count() == 3
    order.refresh_from_db()
    assert order.status == "on_hold"


def form_with(page: str, action: str) -> str:
    """The HTML of the form that posts to `action`."""
    start = page.index(f'action="{action}"')
    return page[start:page.index("</form>", start)]


def test_approval_prompt_sits_in_its_form(clerk_client, paid_order):
    url = f"/orders/{paid_order.number}/refund/"
    response = clerk_client.post(url, {"amount": "5.00", "reason": "Price match",
                                       "tender": "card", "to_store_credit": "1"})

    form = form_with(response.content.decode(), url)
    assert 'name="approver_username"' in form
    assert '<option value="card" selected>' in form
    assert 'name="to_store_credit" value="1" checked' in form


def test_void_payment_prompt_sits_in_its_form(clerk_client, paid_order):
    payment = paid_order.payments.get()
    url = f"/orders/{paid_order.number}/void-payment/"

    response = clerk_client.post(url, {"payment": str(payment.pk), "reason": "Mistake"})

    page = response.content.decode()
    form = page[page.rindex(f'action="{url}"'):]
    form = form[:form.index("</form>")]
    assert 'name="approver_username"' in form
    assert f'name="payment" value="{payment.pk}"' in form


@pytest.mark.parametrize(("error", "shown", "not_shown"), [
    (OperationalError("deadlock detected"), "Please retry", "may or may not"),
    (InterfaceError("connection already closed"), "may or may not have been saved",
     "Please retry"),
])
def test_database_error_shown_in_form(owner_client, paid_order, monkeypatch, error, shown,
                                      not_shown):
    from backroom.web.views import orders

    def failing(**kwargs):
        raise error

    monkeypatch.setattr(orders, "order_add_payment", failing)

    response = owner_client.post(f"/orders/{paid_order.number}/payment/",
                                 {"tender": "card", "amount": "1.00"})

    assert response.status_code == 422
    assert shown in response.context["state"].message
    assert not_shown not in response.context["state"].message
    assert "Idempotency" not in response.context["state"].message
    assert 'value="1.00"' in response.content.decode()


def test_deliver_error_stays_in_its_form(owner_client, paid_order):
    url = line_url(paid_order, "A", "deliver")
    response = owner_client.post(url, {"quantity": "5", "amount": ""})

    page = response.content.decode()
    add_line = form_with(page, f"/orders/{paid_order.number}/add-line/")
    assert response.status_code == 422
    assert "quantity" in response.context["state"].errors
    assert 'value="5"' in form_with(page, url)
    assert 'value="5"' not in add_line
    assert 'class="error"' not in add_line


def test_delivered_order_offers_no_void(owner, owner_client, customer, card, store):
    order = order_create(
        user=owner, order_type="sales_order", customer_id=customer.pk,
        lines=[LineInput(sku="A", quantity=1)],
        payments=[PaymentInput(amount=Decimal("4.00"), tender="cash")])
    order_deliver(user=owner, number=order.number)

    page = owner_client.get(f"/orders/{order.number}/").content.decode()

    order.refresh_from_db()
    assert order.status == "delivered"
    assert f'action="/orders/{order.number}/void/"' not in page
    assert f'action="/orders/{order.number}/refund/"' in page


def test_voided_order_offers_no_payment(owner, owner_client, deposit_order):
    order_void(user=owner, number=deposit_order.number, refund="none", reason="Changed mind")

    page = owner_client.get(f"/orders/{deposit_order.number}/").content.decode()

    assert f'action="/orders/{deposit_order.number}/void/"' not in page
    assert f'action="/orders/{deposit_order.number}/payment/"' not in page
    assert f'action="/orders/{deposit_order.number}/refund/"' in page


def test_refunded_payment_offers_no_void(owner, owner_client, paid_order):
    order_refund(user=owner, number=paid_order.number, amount=Decimal("5.00"),
                 reason="Price match")

    response = owner_client.get(f"/orders/{paid_order.number}/")

    payments = {payment.kind: payment for payment in response.context["payments"]}
    assert payments["payment"].voidable is False
    assert payments["refund"].voidable is True
    assert f'aria-label="Void payment {payments["payment"].pk}"' not in response.content.decode()


def test_quantity_too_large(owner_client, paid_order):
    response = owner_client.post(line_url(paid_order, "A", "change-quantity"),
                                 {"quantity": "99999999999"})

    assert response.status_code == 422
    assert response.context["state"].errors["quantity"] == (
        "'99999999999' is too large; enter at most 1,000,000.")


def test_amount_too_large(owner_client, deposit_order):
    response = owner_client.post(f"/orders/{deposit_order.number}/payment/",
                                 {"tender": "cash", "amount": "99999999999999999999"})

    assert response.status_code == 422
    assert response.context["state"].errors["amount"] == (
        "'99999999999999999999' is too large; enter at most 9,999,999,999.99.")


def test_priority_out_of_range_rejected(owner_client, paid_order):
    response = owner_client.post(f"/orders/{paid_order.number}/priority/", {"priority": "5000"})

    paid_order.refresh_from_db()
    assert response.context["state"].errors["priority"] == (
        "Priority 5000 is invalid; give a whole number from -1000 to 1000.")
    assert paid_order.priority == 0

"""The article's flow through the screens with Django's test client."""

from decimal import Decimal

import pytest

from backroom.core.invariants import invariant_violations
from backroom.purchasing.models import PurchaseOrder, Receipt
from backroom.sales.models import Order


def sales_post(client, **fields):
    return client.post("/sell/", fields)


def two_line_order(client, customer, amount: str, action: str = "save"):
    return sales_post(
        client, type="sales_order", customer=str(customer.pk), action=action,
        **{"lines-0-sku": "A", "lines-0-quantity": "1", "lines-0-price": "4.00",
           "lines-0-discount": "0", "lines-0-plan": "reserve",
           "lines-1-sku": "B", "lines-1-quantity": "1", "lines-1-price": "30.00",
           "lines-1-discount": "0", "lines-1-plan": "order",
           "payments-0-tender": "cash", "payments-0-amount": amount})


@pytest.fixture(autouse=True)
def _engine_invariants_hold(db):
    yield
    assert invariant_violations() == []


def test_article_flow_through_screens(owner_client, customer, card, scarf, store):
    response = two_line_order(owner_client, customer, "34.00")
    assert response.status_code == 302
    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.number}/"
    page = owner_client.get(response["Location"]).content.decode()
    assert "Waiting" in page
    assert "34.00" in page
    assert (order.status, order.total, order.paid) == ("waiting", Decimal("34.00"),
                                                       Decimal("34.00"))

    line_a = order.lines.get(item=card)
    response = owner_client.post(f"/orders/{order.number}/lines/{line_a.pk}/deliver/",
                                 {"quantity": "1", "tender": "cash", "amount": ""})
    assert response.status_code == 302
    line_a.refresh_from_db()
    assert line_a.delivered == 1

    response = owner_client.post("/purchasing/new/", {"vendor": "V",
                                                      "include_purchase_requests": "1"})
    assert response.status_code == 302
    po = PurchaseOrder.objects.get()
    page = owner_client.get(response["Location"]).content.decode()
    assert "Customer C" in page
    assert f"order #{order.number}" in page

    response = owner_client.post(f"/purchasing/orders/{po.number}/submit/")
    assert response.status_code == 302
    po_line = po.lines.get()
    response = owner_client.post(f"/receiving/{po.number}/", {f"receive-{po_line.pk}": "1"})
    assert response.status_code == 302
    receipt = Receipt.objects.get()
    page = owner_client.get(response["Location"]).content.decode()
    assert f"1 × blue scarf for Customer C, order #{order.number}" in page

    order.refresh_from_db()
    assert order.status == "ready"
    assert order.notified_at is not None
    response = owner_client.post(f"/orders/{order.number}/deliver/",
                                 {"tender": "cash", "amount": "0.00"})
    assert response.status_code == 302, response.content.decode()[:3000]
    order.refresh_from_db()
    assert order.status == "delivered"
    assert order.total - order.paid == Decimal("0.00")
    assert receipt.notices.count() == 1

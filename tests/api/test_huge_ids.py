"""Ids beyond the id columns' range get a 4xx response, never a server error."""

import pytest

from .helpers import order_body, pay

HUGE = [2**63, 10**20, -(2**63) - 1]


@pytest.fixture
def waiting(api, customer, card, scarf):
    response = api.post("/orders", order_body(customer, [("A", 1), ("B", 1)], [pay("34.00")]))
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def submitted_po(api, waiting):
    response = api.post("/purchase-orders", {"vendor": "V", "include_purchase_requests": True})
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    assert api.post(f"/purchase-orders/{number}/submit").status_code == 200
    return number


@pytest.mark.parametrize("huge", HUGE)
@pytest.mark.parametrize("action", ["cancel", "return", "back-order", "quantity",
                                    "purchase-request"])
def test_line_action_with_huge_line_id(api, waiting, action, huge):
    response = api.post(f"/orders/{waiting['number']}/lines/{huge}/{action}",
                        {"quantity": 1} if action != "purchase-request" else {})

    assert 400 <= response.status_code < 500, response.content


@pytest.mark.parametrize("huge", HUGE)
def test_delivery_with_huge_line_id(api, waiting, huge):
    response = api.post(f"/orders/{waiting['number']}/deliveries",
                        {"lines": [{"id": huge, "quantity": 1}]})

    assert 400 <= response.status_code < 500, response.content


@pytest.mark.parametrize("huge", HUGE)
def test_order_for_huge_customer_id(api, card, huge):
    body = {"type": "sales_order", "customer": huge, "lines": [{"sku": "A", "quantity": 1}],
            "payments": [{"amount": "4.00", "tender": "cash"}]}

    response = api.post("/orders", body)

    assert 400 <= response.status_code < 500, response.content


@pytest.mark.parametrize("huge", HUGE)
def test_receipt_with_huge_line_id(api, submitted_po, huge):
    response = api.post(f"/purchase-orders/{submitted_po}/receipts",
                        {"lines": [{"id": huge, "quantity": 1}]})

    assert response.status_code == 404, response.content
    assert str(huge) in response.json()["detail"]


@pytest.mark.parametrize("huge", [*HUGE, 0])
def test_order_list_for_huge_customer_id(api, waiting, huge):
    response = api.get("/orders", customer=huge)

    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["field"] == "query.customer"


@pytest.mark.parametrize("huge", HUGE)
def test_payment_void_with_huge_id(api, waiting, huge):
    response = api.post(f"/orders/{waiting['number']}/payments/{huge}/void", {"reason": "x"})

    assert 400 <= response.status_code < 500, response.content


@pytest.mark.parametrize("huge", HUGE)
def test_request_vendor_with_huge_id(api, waiting, huge):
    response = api.patch(f"/purchase-requests/{huge}", {"vendor": "V"})

    assert 400 <= response.status_code < 500, response.content


@pytest.mark.parametrize("huge", HUGE)
def test_po_line_change_with_huge_id(api, waiting, huge):
    created = api.post("/purchase-orders", {"vendor": "V", "include_purchase_requests": True})
    number = created.json()["number"]

    response = api.patch(f"/purchase-orders/{number}/lines/{huge}", {"quantity": 2})

    assert 400 <= response.status_code < 500, response.content

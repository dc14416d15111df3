"""A NUL character in a screen's address, query or form gets a 400 page, on every database."""

import pytest

PAGES = ["/items/N%00L/", "/orders/N%00L/", "/orders/N%00L/label/", "/vendors/N%00L/",
         "/purchasing/orders/N%00L/", "/receiving/N%00L/", "/receiving/receipts/N%00L/",
         "/users/N%00L/", "/items/?q=N%00L", "/orders/find/?number=N%00L",
         "/customers/?q=N%00L"]


@pytest.mark.parametrize("path", PAGES)
def test_nul_in_address_is_400(owner_client, path):
    response = owner_client.get(path)

    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


@pytest.mark.parametrize("form", [{"action": "add", "q": "N\x00L"},
                                  {"action": "choose_item", "sku": "N\x00L"}])
def test_nul_in_form_field_is_400(owner_client, form):
    response = owner_client.post("/sell/", form)

    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_text_without_nul_still_searched(owner_client, card):
    response = owner_client.get("/items/?q=card")

    assert response.status_code == 200
    assert card.sku in response.content.decode()


def test_api_handles_nul_itself(api):
    response = api.get("/items/N%00L")

    assert response.status_code == 404


@pytest.mark.parametrize(("path", "field"), [
    ("/items?q=N%00L", "query.q"),
    ("/orders?sku=N%00L", "query.sku"),
    ("/purchase-requests?sku=A&vendor=V%00", "query.vendor"),
])
def test_api_nul_in_query_names_parameter(api, path, field):
    response = api.get(path)

    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == field
    assert "NUL character" in body["detail"]


def test_api_nul_in_body_names_field(api, customer, card):
    order = {"type": "sales_order", "customer": customer.pk,
             "lines": [{"sku": "A", "quantity": 1}, {"sku": "N\x00L", "quantity": 1}],
             "payments": []}

    response = api.post("/orders", order)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines[1].sku"

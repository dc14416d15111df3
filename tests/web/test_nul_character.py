"""A NUL character in a request gets a clear error on every database: a 400 page on the
screens, and from the API a 404 or a 422 naming the field."""

import json

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


@pytest.mark.parametrize("path", ["/items/N%00L", "/orders/10%0001", "/orders/1001%00/events",
                                  "/purchase-orders/P%00"])
def test_api_nul_in_address_not_found(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_api_nul_in_parameter_name_shown(api):
    response = api.get("/items?q%00x=ab")

    assert response.json()["errors"][0]["field"] == "query.q%00x"


@pytest.mark.parametrize(("content_type", "encoding"), [
    ("text/plain", "utf-8"), ("application/merge-patch+json", "utf-8"),
    ("application/json", "utf-16")])
def test_api_nul_in_any_json_body_named(api, content_type, encoding):
    body = json.dumps({"name": "x\x00", "email": "x@example.com"}).encode(encoding)

    response = api.client.post("/api/v1/customers", body, content_type=content_type,
                               headers={"Authorization": f"Bearer {api.token}"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"
    assert "\\u0000" in response.json()["detail"]


def test_api_body_too_large_is_problem(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = api.post("/customers", {"name": "x" * 2000, "email": "big@example.com"})

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert "1,000 bytes" in response.json()["detail"]


@pytest.mark.parametrize("depth", [33, 500, 100_000])
def test_api_deeply_nested_body_rejected(api, depth):
    body = '{"name": ' + "[" * depth + "]" * depth + ', "email": "x@example.com"}'

    response = api.client.post("/api/v1/customers", body, content_type="application/json",
                               headers={"Authorization": f"Bearer {api.token}"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "more than 32 levels" in response.json()["detail"]


def test_api_body_at_depth_limit_reaches_validation(api):
    body = '{"name": ' + "[" * 31 + "]" * 31 + ', "email": "x@example.com"}'

    response = api.client.post("/api/v1/customers", body, content_type="application/json",
                               headers={"Authorization": f"Bearer {api.token}"})

    assert response.status_code == 422

"""Text the database cannot store and the published request schemas."""

import pytest


@pytest.mark.parametrize(("path", "body"), [
    ("/purchase-requests", {"sku": "\ud800", "quantity": 1}),
    ("/purchase-orders", {"vendor": "\ud800"}),
    ("/purchase-orders", {"vendor": "V", "lines": [{"sku": "\ud800", "quantity": 1}]}),
])
def test_lone_surrogate_in_lookup_rejected(api, vendor, card, path, body):
    response = api.post(path, body)

    assert response.status_code == 422, response.content
    assert "\\ud800" in response.json()["detail"]


def test_openapi_line_cancel_takes_quantity(api):
    document = api.client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/orders/{number}/lines/{line_id}/cancel"]["post"]
    reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][reference.rsplit("/", 1)[1]]

    assert "quantity" in schema["properties"]
    assert "refund" in schema["properties"]


def test_item_lookup_with_nul_not_found(api, card):
    response = api.get("/items/a%00b")

    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"

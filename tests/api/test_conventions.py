"""API conventions: problem+json errors, authentication, input validation,
idempotency keys and cursor pagination."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from backroom.accounts.models import ApiToken
from backroom.accounts.services import LAST_USED_RESOLUTION
from backroom.catalog.models import Item

from .helpers import (
    PROBLEM_CONTENT_TYPE,
    assert_problem,
    expect,
    line_of,
    nothing_changes,
    order_body,
    order_create,
    pay,
    po_line_of,
    po_submitted,
    receive_body,
    stock,
)


def walk(api, path: str, **params) -> list[list[dict]]:
    """Return every page of a list, following next_cursor to the end."""
    pages = []
    cursor = None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        page = expect(api.get(path, **query))
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


@pytest.fixture
def many_items(db):
    Item.objects.bulk_create([Item(sku=f"S{index:03d}", description=f"item {index}",
                                   price="1.00") for index in range(120)])


# ---------------------------------------------------------------- errors


def test_error_is_problem_json(api):
    response = api.get("/orders/9999")

    body = assert_problem(response, 404, "not_found")
    assert set(body) >= {"type", "title", "status", "detail", "code", "errors"}
    assert body["status"] == 404
    assert body["detail"]


def test_field_error_names_field(api, card):
    response = api.post("/orders", order_body(None, [("NOPE", 1)], order_type="sale"))

    body = assert_problem(response, 404, "not_found")
    assert body["errors"] == [{"field": "lines[0].sku", "message": body["detail"]}]


def test_missing_token_unauthorized(api):
    response = api.client.get("/api/v1/orders")

    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE


def test_bad_token_unauthorized(api):
    response = api.client.get("/api/v1/orders", headers={"Authorization": "Bearer br_wrong"})

    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE


def test_bad_token_changes_nothing(api, card):
    with nothing_changes():
        response = api.client.post("/api/v1/items/A/adjustments",
                                   {"quantity": 5, "reason": "count"},
                                   content_type="application/json",
                                   headers={"Authorization": "Bearer br_wrong"})

    assert response.status_code == 401


def _token_row(api) -> ApiToken:
    return ApiToken.objects.get(digest=ApiToken.digest_of(api.token))


def test_first_token_use_recorded(api):
    started = timezone.now()

    expect(api.get("/settings"))

    last_used = _token_row(api).last_used_at
    assert last_used is not None
    assert started <= last_used <= timezone.now()


def test_recent_token_use_not_rewritten(api):
    recent = timezone.now() - LAST_USED_RESOLUTION / 2
    ApiToken.objects.filter(pk=_token_row(api).pk).update(last_used_at=recent)

    expect(api.get("/settings"))

    assert _token_row(api).last_used_at == recent


def test_stale_token_use_rewritten(api):
    stale = timezone.now() - LAST_USED_RESOLUTION - timedelta(seconds=1)
    ApiToken.objects.filter(pk=_token_row(api).pk).update(last_used_at=stale)
    started = timezone.now()

    expect(api.get("/settings"))

    assert _token_row(api).last_used_at >= started


def test_revoked_token_unauthorized(api):
    ApiToken.objects.filter(pk=_token_row(api).pk).update(revoked_at=timezone.now())

    response = api.get("/settings")

    assert response.status_code == 401
    assert _token_row(api).last_used_at is None


@pytest.mark.parametrize("path", ["/orders/9999", "/items/NOPE", "/purchase-orders/PO-9999",
                                  "/receipts/R-9999", "/customers/9999",
                                  "/orders/9999/events"])
def test_unknown_id_not_found(api, path):
    assert_problem(api.get(path), 404, "not_found")


def test_unknown_customer_not_found(api, card):
    with nothing_changes():
        response = api.post("/orders", order_body(9999, [("A", 1)], [pay("4.00")]))

    body = assert_problem(response, 404, "not_found")
    assert body["errors"][0]["field"] == "customer"


def test_unknown_status_filter_rejected(api):
    assert_problem(api.get("/orders", status="lost"), 422, "validation_error")


def test_unknown_line_not_found(api, customer, card):
    order = order_create(api, customer, [("A", 1)], [pay("4.00")])

    with nothing_changes():
        response = api.post(f"/orders/{order['number']}/lines/9999/cancel", {"quantity": 1})

    assert_problem(response, 404, "not_found")


def test_line_of_other_order_not_found(api, customer, card):
    first = order_create(api, customer, [("A", 1)], [pay("4.00")])
    second = order_create(api, customer, [("A", 1)], [pay("4.00")])

    with nothing_changes():
        response = api.post(
            f"/orders/{second['number']}/lines/{line_of(first, 'A')['id']}/cancel",
            {"quantity": 1})

    assert_problem(response, 404, "not_found")


def test_unknown_po_line_not_found(api, scarf):
    po = po_submitted(api, include=False, lines=[("B", 1)])

    with nothing_changes():
        response = api.post(f"/purchase-orders/{po['number']}/receipts", receive_body((9999, 1)))

    assert_problem(response, 404, "not_found")


FLOAT_MONEY = [
    ("/orders", {"type": "sale", "customer": None, "lines": [{"sku": "A", "quantity": 1}],
                 "payments": [{"amount": 4.0, "tender": "cash"}]}, "payments[0].amount"),
    ("/orders", {"type": "sale", "customer": None,
                 "lines": [{"sku": "A", "quantity": 1, "unit_price": 4.0}],
                 "payments": [{"amount": "4.00", "tender": "cash"}]}, "lines[0].unit_price"),
    ("/items", {"sku": "N", "description": "new", "price": 1.5}, "price"),
    ("/purchase-orders", {"vendor": "V", "lines": [{"sku": "A", "quantity": 1, "cost": 1.5}]},
     "lines[0].cost"),
]


@pytest.mark.parametrize(("path", "body", "field"), FLOAT_MONEY,
                         ids=[field for _, _, field in FLOAT_MONEY])
def test_float_in_money_field_rejected(api, card, path, body, field):
    with nothing_changes():
        response = api.post(path, body)

    problem = assert_problem(response, 422, "validation_error")
    assert [error["field"] for error in problem["errors"]] == [field]


def test_float_refund_rejected(api, customer, card):
    order = order_create(api, customer, [("A", 1)], [pay("4.00")])

    with nothing_changes():
        response = api.post(f"/orders/{order['number']}/refunds",
                            {"amount": 1.0, "reason": "goodwill"})

    assert_problem(response, 422, "validation_error")


def test_float_setting_rejected(api, store):
    with nothing_changes():
        response = api.patch("/settings", {"cash_rounding": 0.05})

    assert_problem(response, 422, "validation_error")


def test_ids_and_counts_as_text_rejected(api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("34.00")])
    card_line = order["lines"][0]["id"]
    cases = [
        (f"/orders/{order['number']}/deliveries",
         {"lines": [{"id": str(card_line), "quantity": 1}]}, "lines[0].id"),
        ("/orders", {"type": "sales_order", "customer": str(customer.pk),
                     "lines": [{"sku": "A", "quantity": 1}],
                     "payments": [{"amount": "4.00", "tender": "cash"}]}, "customer"),
        (f"/orders/{order['number']}/priority", {"priority": "5"}, "priority"),
    ]
    for path, body, field in cases:
        with nothing_changes():
            response = api.post(path, body)

        problem = assert_problem(response, 422, "validation_error")
        assert [error["field"] for error in problem["errors"]] == [field], path


@pytest.mark.parametrize(("line", "field", "message"), [
    ({"sku": "A", "quantity": "two"}, "lines[0].quantity",
     "is not a whole number; send a number such as 3, without quotes."),
    ({"sku": "A", "quantity": 1, "colour": "red"}, "lines[0].colour",
     "is not a field of this request; remove it or check its spelling."),
    ({"sku": "A"}, "lines[0].quantity", "is required; add it."),
    ({"sku": "A", "quantity": 1, "take_now": "maybe"}, "lines[0].take_now",
     "is not true or false; send true or false, without quotes."),
], ids=["text quantity", "unknown field", "missing quantity", "text flag"])
def test_validation_messages_in_product_words(api, customer, card, line, field, message):
    body = {"type": "sales_order", "customer": customer.pk, "lines": [line],
            "payments": [{"amount": "4.00", "tender": "cash"}]}

    with nothing_changes():
        response = api.post("/orders", body)

    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"] == [{"field": field, "message": message}]
    assert problem["detail"] == f"{field}: {message}"


@pytest.mark.parametrize("spelling", ["%20{id}", "{id}.0", "+{id}", "{id}%20"],
                         ids=["leading space", "decimal", "plus sign", "trailing space"])
def test_address_id_spelled_otherwise_rejected(api, customer, card, spelling):
    order = order_create(api, customer, [("A", 2)], [pay("8.00")])
    path_id = spelling.format(id=order["lines"][0]["id"])

    with nothing_changes():
        response = api.post(f"/orders/{order['number']}/lines/{path_id}/cancel",
                            {"quantity": 1})

    problem = assert_problem(response, 422, "validation_error")
    assert [error["field"] for error in problem["errors"]] == ["path.line_id"]
    assert "is not an id; give the number alone" in problem["errors"][0]["message"]


def test_delivery_of_no_lines_rejected(api, customer, card):
    order = order_create(api, customer, [("A", 1)], [pay("4.00")])

    with nothing_changes():
        response = api.post(f"/orders/{order['number']}/deliveries", {"lines": []})

    problem = assert_problem(response, 422, "validation_error")
    assert [error["field"] for error in problem["errors"]] == ["lines"]


BAD_SALES = [
    ("quantity as text", {"sku": "A", "quantity": "two"}, []),
    ("fractional quantity", {"sku": "A", "quantity": 1.5}, []),
    ("zero quantity", {"sku": "A", "quantity": 0}, []),
    ("money with three places", {"sku": "A", "quantity": 1, "unit_price": "3.999"}, []),
    ("money not a number", {"sku": "A", "quantity": 1, "unit_price": "cheap"}, []),
    ("unknown tender", {"sku": "A", "quantity": 1}, [{"amount": "4.00", "tender": "iou"}]),
    ("negative payment", {"sku": "A", "quantity": 1}, [{"amount": "-4.00", "tender": "cash"}]),
]


@pytest.mark.parametrize(("line", "payments"), [case[1:] for case in BAD_SALES],
                         ids=[case[0] for case in BAD_SALES])
def test_bad_order_input_rejected(api, customer, card, line, payments):
    body = {"type": "sales_order", "customer": customer.pk, "lines": [line],
            "payments": payments or [{"amount": "4.00", "tender": "cash"}]}

    with nothing_changes():
        response = api.post("/orders", body)

    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize("body", [
    {"type": "rental", "customer": None, "lines": [{"sku": "A", "quantity": 1}]},
    {"type": "sale", "customer": None},
    {"type": "sale", "customer": None, "lines": []},
], ids=["unknown type", "no lines field", "empty lines"])
def test_bad_order_shape_rejected(api, card, body):
    with nothing_changes():
        response = api.post("/orders", body)

    assert_problem(response, 422, "validation_error")


def test_malformed_json_rejected(api):
    response = api.client.post("/api/v1/orders", "{not json", content_type="application/json",
                               headers={"Authorization": f"Bearer {api.token}"})

    assert response.status_code in (400, 422)
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE


def test_state_conflict_is_409(api, customer, card):
    order = order_create(api, customer, [("A", 1)], [pay("4.00")])
    expect(api.post(f"/orders/{order['number']}/void", {"reason": "mistake"}))

    with nothing_changes():
        response = api.post(f"/orders/{order['number']}/payments", pay("1.00"))

    assert_problem(response, 409, "invalid_state")


def test_money_is_sent_as_strings(api, customer, card):
    order = order_create(api, customer, [("A", 1)], [pay("4.00")])
    line = order["lines"][0]

    assert [order[name] for name in ("subtotal", "tax", "total", "paid", "balance")] == [
        "4.00", "0.00", "4.00", "4.00", "0.00"]
    assert [line[name] for name in ("unit_price", "line_total", "tax")] == [
        "4.00", "4.00", "0.00"]
    assert order["payments"][0]["amount"] == "4.00"


def test_openapi_document_served(api):
    document = expect(api.get("/openapi.json"))

    assert document["openapi"].startswith("3.")
    assert "/api/v1/orders" in document["paths"]


def test_openapi_line_id_given_once(api):
    document = expect(api.get("/openapi.json"))
    paths = document["paths"]

    delivery = paths["/api/v1/orders/{number}/deliveries"]["post"]["description"]
    receipt = paths["/api/v1/purchase-orders/{number}/receipts"]["post"]["description"]

    assert "Give each line id once" in delivery
    assert "Give each PO line id once" in receipt


# ---------------------------------------------------------------- idempotency


def test_repeated_key_returns_first_response(api, customer, card, scarf):
    body = order_body(customer, [("A", 1), ("B", 1)], [pay("34.00")])
    headers = {"Idempotency-Key": "sale-17"}
    first = api.post("/orders", body, headers=headers)

    with nothing_changes():
        repeated = api.post("/orders", body, headers=headers)

    assert repeated.status_code == 201
    assert repeated.json() == first.json()
    assert stock(api, "A") == {"on_hand": 10, "reserved": 1, "available": 9}


def test_repeated_key_replays_even_after_changes(api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("8.50")])
    path = f"/orders/{order['number']}/payments"
    headers = {"Idempotency-Key": "payment-1"}
    first = expect(api.post(path, pay("5.00"), headers=headers))
    expect(api.post(path, pay("1.00")))

    repeated = expect(api.post(path, pay("5.00"), headers=headers))

    assert repeated == first
    assert expect(api.get(f"/orders/{order['number']}"))["paid"] == "14.50"


def test_same_key_other_body_conflicts(api, customer, card, scarf):
    headers = {"Idempotency-Key": "sale-18"}
    api.post("/orders", order_body(customer, [("A", 1)], [pay("4.00")]), headers=headers)

    with nothing_changes():
        response = api.post("/orders", order_body(customer, [("A", 2)], [pay("8.00")]),
                            headers=headers)

    assert_problem(response, 409, "conflict")


def test_same_key_other_path_conflicts(api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("8.50")])
    headers = {"Idempotency-Key": "shared"}
    expect(api.post(f"/orders/{order['number']}/payments", pay("1.00"), headers=headers))

    with nothing_changes():
        response = api.post(f"/orders/{order['number']}/refunds",
                            {"amount": "1.00", "reason": "goodwill"}, headers=headers)

    assert_problem(response, 409, "conflict")


def test_repeated_receipt_receives_once(api, scarf):
    po = po_submitted(api, include=False, lines=[("B", 2)])
    path = f"/purchase-orders/{po['number']}/receipts"
    body = receive_body((po_line_of(po, "B")["id"], 1))
    headers = {"Idempotency-Key": "receipt-1"}
    first = api.post(path, body, headers=headers)

    repeated = api.post(path, body, headers=headers)

    assert repeated.status_code == 201
    assert repeated.json()["number"] == first.json()["number"]
    assert stock(api, "B")["on_hand"] == 1


# ---------------------------------------------------------------- pagination


def test_list_default_limit_is_50(api, many_items):
    page = expect(api.get("/items"))

    assert len(page["items"]) == 50
    assert page["next_cursor"] is not None


def test_walking_pages_lists_each_row_once(api, many_items):
    pages = walk(api, "/items", limit=7)
    skus = [item["sku"] for page in pages for item in page]

    assert len(pages) == 18
    assert all(len(page) == 7 for page in pages[:-1])
    assert len(skus) == 120
    assert len(set(skus)) == 120


def test_limit_500_allowed(api, many_items):
    page = expect(api.get("/items", limit=500))

    assert len(page["items"]) == 120
    assert page["next_cursor"] is None


@pytest.mark.parametrize("limit", [0, 501, -1])
def test_limit_out_of_range_rejected(api, limit):
    body = assert_problem(api.get("/items", limit=limit), 422, "validation_error")
    assert body["errors"][0]["field"] == "query.limit"


def test_bad_cursor_rejected(api):
    body = assert_problem(api.get("/items", cursor="not-a-cursor"), 422, "validation_error")
    assert body["errors"][0]["field"] == "query.cursor"


@pytest.mark.parametrize(("path", "query", "field"), [
    ("/orders", {"status": "bogus"}, "query.status"),
    ("/orders", {"type": "bogus"}, "query.type"),
    ("/orders", {"view": "bogus"}, "query.view"),
    ("/orders", {"limit": "x"}, "query.limit"),
    ("/purchase-requests", {"status": "bogus"}, "query.status"),
])
def test_query_errors_name_query_field(api, path, query, field):
    body = assert_problem(api.get(path, **query), 422, "validation_error")
    assert body["errors"][0]["field"] == field


def test_rows_added_while_walking_shift_nothing(api, customer, card):
    numbers = [order_create(api, customer, [("A", 1)], [pay("4.00")])["number"]
               for _ in range(5)]
    first = expect(api.get("/orders", limit=2))

    order_create(api, customer, [("A", 1)], [pay("4.00")])
    rest = walk(api, "/orders", limit=2, cursor=first["next_cursor"])
    seen = [order["number"] for order in first["items"]] + [
        order["number"] for page in rest for order in page]

    assert seen == list(reversed(numbers))


def test_orders_list_puts_waiting_first(api, customer, card, scarf):
    waiting = order_create(api, customer, [("B", 1)], [pay("30.00")])
    ready = order_create(api, customer, [("A", 1)], [pay("4.00")])

    listed = [order["number"] for order in expect(api.get("/orders"))["items"]]

    assert listed == [waiting["number"], ready["number"]]


def test_walking_mixed_orders_keeps_waiting_first(api, customer, card, scarf):
    created = [order_create(api, customer, [(sku, 1)], [pay(price)])
               for sku, price in [("A", "4.00"), ("B", "30.00")] * 3]
    waiting = [order["number"] for order in reversed(created) if order["status"] == "waiting"]
    ready = [order["number"] for order in reversed(created) if order["status"] == "ready"]

    pages = walk(api, "/orders", limit=2)

    assert [order["number"] for page in pages for order in page] == waiting + ready


def test_walking_line_view_keeps_back_orders_first(api, customer, card, scarf):
    for _ in range(3):
        order_create(api, customer, [("A", 1), ("B", 1)], [pay("34.00")])

    pages = walk(api, "/orders", view="lines", limit=2)
    skus = [line["sku"] for page in pages for line in page]
    ids = [line["id"] for page in pages for line in page]

    assert skus == ["B"] * 3 + ["A"] * 3
    assert len(set(ids)) == 6


def test_orders_filtered_by_status_and_sku(api, customer, card, scarf):
    waiting = order_create(api, customer, [("B", 1)], [pay("30.00")])
    ready = order_create(api, customer, [("A", 1)], [pay("4.00")])

    by_status = expect(api.get("/orders", status="ready"))["items"]
    by_sku = expect(api.get("/orders", sku="B"))["items"]

    assert [order["number"] for order in by_status] == [ready["number"]]
    assert [order["number"] for order in by_sku] == [waiting["number"]]


def test_line_view_puts_back_orders_first(api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("34.00")])

    lines = expect(api.get("/orders", view="lines"))["items"]

    assert [(line["sku"], line["order"]) for line in lines] == [
        ("B", order["number"]), ("A", order["number"])]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WzksIDFd", "WyJ4IiwgMV0"])
def test_bad_order_list_cursor_rejected(api, cursor):
    """The cursors decode to nothing, to segment 9 of 2, and to a text segment."""
    assert_problem(api.get("/orders", cursor=cursor), 422, "validation_error")


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("put", "/orders", "GET, POST"),
    ("delete", "/items/A", "GET"),
    ("post", "/settings", "GET, PATCH"),
])
def test_method_not_taken_is_problem(api, card, method, path, allowed):
    response = getattr(api.client, method)(f"/api/v1{path}", headers=api._headers(None))

    body = assert_problem(response, 405, "method_not_allowed")
    assert response["Allow"] == allowed
    assert body["detail"] == (f"{method.upper()} is not allowed on /api/v1{path}; use "
                              f"{allowed.replace(', ', ' or ')}.")


def test_head_answers_as_get_without_body(api, card):
    got = api.client.get("/api/v1/items/A", headers=api._headers(None))
    head = api.client.head("/api/v1/items/A", headers=api._headers(None))

    assert head.status_code == 200
    assert head.content == b""
    assert head["Content-Length"] == str(len(got.content))
    assert head["Content-Type"] == got["Content-Type"]


def test_head_on_address_without_get_is_problem(api):
    response = api.client.head("/api/v1/orders/1001/finalize", headers=api._headers(None))

    assert response.status_code == 405
    assert response["Allow"] == "POST"


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_unknown_address_not_found_any_method(api, method):
    client = Client(enforce_csrf_checks=True)

    response = getattr(client, method)("/api/v1/no-such-thing", headers=api._headers(None))

    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize("path", ["/openapi.json", "/docs"])
def test_api_documents_take_get_alone(api, path):
    client = Client(enforce_csrf_checks=True)

    response = client.post(f"/api/v1{path}", headers=api._headers(None))

    assert_problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"


def test_field_given_twice_rejected(api):
    with nothing_changes():
        response = api.client.post("/api/v1/customers", '{"name": "One", "name": "Two"}',
                                   content_type="application/json", headers=api._headers(None))

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "name"


@pytest.mark.parametrize("value", ["yes", "true", 1, 0])
def test_switch_must_be_true_or_false(api, value):
    with nothing_changes():
        response = api.post("/customers", {"name": "Ada", "notify": value})

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "notify"
    assert body["detail"] == "notify: is not true or false; send true or false, without quotes."


def test_empty_text_message(api):
    response = api.post("/customers", {"name": ""})

    body = assert_problem(response, 422, "validation_error")
    assert body["detail"] == "name: is empty; give a value."


def test_request_without_body_message(api, customer):
    response = api.client.patch(f"/api/v1/customers/{customer.pk}",
                                content_type="application/json", headers=api._headers(None))

    body = assert_problem(response, 422, "validation_error")
    assert body["detail"] == "The request has no body; send a JSON object."


def test_lone_surrogate_message(api):
    with nothing_changes():
        response = api.post("/customers", {"name": "a\ud800b"})

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "name"
    assert "not valid Unicode text" in body["detail"]


@pytest.mark.parametrize(("path", "body", "field", "detail"), [
    ("/orders", {"type": "bogus", "lines": [{"sku": "A", "quantity": 1}]}, "type",
     "type: is not one of 'sale', 'sales_order', 'special_order', 'layaway' or "
     "'custom_order'; give one of them."),
    ("/purchase-orders", {"vendor": "V", "expected_date": "2026-13-01"}, "expected_date",
     "expected_date: is not a date; give one such as 2026-12-31."),
    ("/purchase-orders", {"vendor": "V", "expected_date": "2026-01-01T10:00:00"},
     "expected_date", "expected_date: is not a date; give one such as 2026-12-31."),
])
def test_choice_and_date_messages(api, card, path, body, field, detail):
    with nothing_changes():
        response = api.post(path, body)

    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["field"] == field
    assert problem["detail"] == detail


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "text/plain"])
def test_field_given_twice_rejected_whatever_content_type(api, content_type):
    with nothing_changes():
        response = api.client.post("/api/v1/customers", '{"name": "One", "name": "Two"}',
                                   content_type=content_type, headers=api._headers(None))

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "name"


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_api_root_is_not_found_problem(api, method):
    client = Client(enforce_csrf_checks=True)

    response = getattr(client, method)("/api/v1/", headers=api._headers(None))

    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize("field", ["currency", "deposit_percent", "minimum_deposit_percent",
                                   "tax_rate", "cash_rounding",
                                   "over_receipt_tolerance_percent", "ready_reminder_days"])
def test_settings_null_rejected(api, field):
    with nothing_changes():
        response = api.patch("/settings", {field: None})

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == field
    assert body["detail"] == (f"{field} is null; give a value, or leave {field} out to keep "
                              "the current one.")


@pytest.mark.parametrize("field", ["quantity", "cost"])
def test_po_line_null_rejected(api, scarf, field):
    po = expect(api.post("/purchase-orders", {"vendor": "V",
                                               "lines": [{"sku": "B", "quantity": 2}]}), 201)
    line = po["lines"][0]["id"]

    with nothing_changes():
        response = api.patch(f"/purchase-orders/{po['number']}/lines/{line}", {field: None})

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == field


@pytest.mark.parametrize("value", [1767225600, 20260101, True, ["2026-01-01"], "1767139200",
                                   "2026-01-01T00:00:00", "20261231", " 2026-12-31"])
def test_date_must_be_text(api, card, value):
    with nothing_changes():
        response = api.post("/purchase-orders", {"vendor": "V", "expected_date": value})

    body = assert_problem(response, 422, "validation_error")
    assert body["detail"] == "expected_date: is not a date; give one such as 2026-12-31."


def test_date_as_text_kept(api, card):
    po = expect(api.post("/purchase-orders", {"vendor": "V", "expected_date": "2026-12-31"}),
                201)

    assert po["expected_date"] == "2026-12-31"


def test_body_not_object_message(api):
    response = api.client.patch("/api/v1/settings", "[]", content_type="application/json",
                                headers=api._headers(None))

    body = assert_problem(response, 422, "validation_error")
    assert body["detail"] == ("The request body is not an object; send a JSON object, such "
                              "as {...}.")


@pytest.mark.parametrize(("path", "query"), [("/orders", "status"), ("/orders", "type"),
                                             ("/purchase-orders", "status")])
def test_long_query_value_cut_in_message(api, path, query):
    body = assert_problem(api.get(path, **{query: "x" * 3000}), 422, "validation_error")

    assert "x" * 20 + "..." in body["detail"]
    assert len(body["detail"]) < 200


@pytest.mark.parametrize("limit", [" 5", "5 ", "+5", "1_0", "5.0"])
def test_query_number_written_loosely_rejected(api, limit):
    body = assert_problem(api.get("/orders", limit=limit), 422, "validation_error")

    assert body["errors"][0]["field"] == "query.limit"
    assert "is not a whole number; give digits alone" in body["detail"]


@pytest.mark.parametrize(("path", "cursor"), [("/orders", "WzAsIHRydWVd"),
                                              ("/customers", "WzEuNV0"),
                                              ("/items", "W3t9XQ"), ("/items", "W1tdXQ")])
def test_cursor_of_wrong_values_rejected(api, path, cursor):
    body = assert_problem(api.get(path, cursor=cursor), 422, "validation_error")
    assert body["errors"][0]["field"] == "query.cursor"


def test_settings_answer_shows_values_as_stored(api):
    changed = expect(api.patch("/settings", {"cash_rounding": "0.5", "tax_rate": "7"}))
    stored = expect(api.get("/settings"))

    assert (changed["cash_rounding"], changed["tax_rate"]) == (
        stored["cash_rounding"], stored["tax_rate"])
    assert changed["cash_rounding"] == "0.50"


def test_percent_message_gives_percent_example(api):
    body = assert_problem(api.patch("/settings", {"tax_rate": "1,5"}), 422, "validation_error")
    assert body["detail"] == ("tax_rate: '1,5' is not a plain decimal number; give digits with "
                              'at most one point, such as "7.5"')


@pytest.mark.parametrize(("raw", "detail"), [
    (b'{"name": "Ada",}', "The request body is not valid JSON: expecting property name "
                          "enclosed in double quotes at line 1, column 16; send a JSON "
                          "object."),
    (b'{"name": "\xff"}', "The request body is not UTF-8 text; send the JSON object in UTF-8."),
    (b'{"cash_rounding": ' + b"9" * 5000 + b"}", None),
])
def test_unreadable_body_message(api, raw, detail):
    with nothing_changes():
        response = api.client.patch("/api/v1/settings", raw, content_type="application/json",
                                    headers=api._headers(None))

    body = assert_problem(response, 400, "malformed_request")
    if detail is not None:
        assert body["detail"] == detail
    else:
        assert body["detail"].startswith("The request body cannot be read: ")
        assert "Content-Type" not in body["detail"]

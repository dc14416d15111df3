"""The order's timeline: who changed what, when, with the quantities involved."""

import re
from datetime import datetime

import pytest

from .helpers import (
    deliver,
    expect,
    line_action,
    line_of,
    order_create,
    pay,
    po_line_of,
    po_submitted,
    receive,
)

MONEY_FIELDS = {"amount", "total", "paid", "received", "change", "store_credit",
                "balance_after", "minimum", "deposit", "amount_due"}


def events_of(api, order: dict) -> list[dict]:
    return expect(api.get(f"/orders/{order['number']}/events"))


def contains_in_order(actions: list[str], expected: list[str]) -> bool:
    remaining = iter(actions)
    return all(action in remaining for action in expected)


@pytest.fixture
def article_flow(api, customer, card, scarf, django_capture_on_commit_callbacks):
    """Take the article's order from sale to hand-over and return it."""
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("34.00")])
    expect(deliver(api, order["number"], [(line_of(order, "A")["id"], 1)]))
    po = po_submitted(api)
    with django_capture_on_commit_callbacks(execute=True):
        receive(api, po["number"], (po_line_of(po, "B")["id"], 1))
    expect(deliver(api, order["number"]))
    return order


def test_timeline_shows_every_step(api, article_flow):
    actions = [event["action"] for event in events_of(api, article_flow)]

    assert contains_in_order(actions, [
        "order_created", "line_decided", "line_decided", "request_created", "payment_taken",
        "order_finalized", "units_delivered", "request_on_purchase_order", "units_reserved",
        "order_ready", "customer_notified", "units_delivered"]), actions


def test_timeline_names_user_and_time(api, article_flow):
    events = [event for event in events_of(api, article_flow)
              if event["action"] != "customer_notified"]

    assert {event["user"] for event in events} == {"olive"}
    assert all(datetime.fromisoformat(event["at"]) for event in events)


def test_timeline_follows_received_unit(api, article_flow):
    [reserved] = [event for event in events_of(api, article_flow)
                  if event["action"] == "units_reserved"]

    assert reserved["detail"]["source"] == "receipt"
    assert reserved["detail"]["receipt"].startswith("R-")
    assert reserved["detail"]["quantity"] == 1
    assert reserved["detail"]["back_ordered_after"] == 0
    assert reserved["detail"]["ready_after"] == 1


def test_timeline_records_stock_after_hand_over(api, article_flow):
    delivered = [event["detail"] for event in events_of(api, article_flow)
                 if event["action"] == "units_delivered"]

    assert [(row["sku"], row["quantity"], row["on_hand_after"]) for row in delivered] == [
        ("A", 1, 9), ("B", 1, 0)]


def test_timeline_money_has_two_places(api, article_flow):
    amounts = [(event["action"], name, value) for event in events_of(api, article_flow)
               for name, value in event["detail"].items() if name in MONEY_FIELDS]

    assert amounts
    assert [row for row in amounts
            if not (isinstance(row[2], str) and re.fullmatch(r"-?\d+\.\d\d", row[2]))] == []


def test_timeline_records_quantity_before_and_after(api, customer, card):
    order = order_create(api, customer, [("A", 1)], [pay("4.00")])

    expect(line_action(api, order, "A", "quantity", {"quantity": 3}))
    [changed] = [event for event in events_of(api, order)
                 if event["action"] == "line_quantity_changed"]

    assert changed["detail"]["quantity_before"] == 1
    assert changed["detail"]["quantity_after"] == 3


def test_timeline_records_acting_clerk(api, clerk_api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("8.50")])

    expect(clerk_api.post(f"/orders/{order['number']}/payments", pay("5.00", "card")))
    [payment] = [event for event in events_of(api, order)
                 if event["action"] == "payment_taken" and event["detail"]["amount"] == "5.00"]

    assert payment["user"] == "carl"
    assert payment["detail"]["balance_after"] == "20.50"


def test_timeline_records_cancellation(api, customer, card, scarf):
    order = order_create(api, customer, [("A", 1), ("B", 1)], [pay("34.00")])

    expect(line_action(api, order, "B", "cancel", {"quantity": 1, "refund": "original_tender"}))
    actions = [event["action"] for event in events_of(api, order)]

    assert contains_in_order(actions, ["units_cancelled", "refund_issued"]), actions
    assert "request_reduced" in actions

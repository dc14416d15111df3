"""The invariant checker finds each kind of broken row."""

from decimal import Decimal

import pytest

from backroom.catalog.models import Item
from backroom.core.invariants import invariant_violations
from backroom.sales.models import Order


def test_consistent_rows_pass(waiting_order):
    assert invariant_violations() == []


@pytest.mark.parametrize(("change", "words"), [
    ({"status": "ready"}, "status ready, buckets say waiting"),
    ({"total": Decimal("30.00")}, "total 30.00, lines add to 34.00"),
    ({"paid": Decimal("1.00")}, "paid 1.00, payments add to 34.00"),
])
def test_broken_order_found(waiting_order, change, words):
    Order.objects.filter(pk=waiting_order.pk).update(**change)

    problems = invariant_violations()

    assert problems == [f"order {waiting_order.number}: {words}"]


def test_broken_reservation_found(waiting_order, card):
    Item.objects.filter(pk=card.pk).update(reserved=2)

    problems = invariant_violations()

    assert problems == ["item A: reserved 2 but its lines have 1 ready"]

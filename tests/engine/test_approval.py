"""A manager's approval lends one permission; the acting clerk stays on the record."""

from decimal import Decimal

import pytest

from backroom.accounts.permissions import approved_by, has_permission
from backroom.catalog.services import ItemInput, item_create
from backroom.core.errors import PermissionDenied, ValidationFailed
from backroom.core.models import Event
from backroom.sales.services import LineInput, order_create


def test_approval_lends_only_that_permission(clerk, manager):
    with approved_by(manager, "override_deposit"):
        assert has_permission(clerk, "override_deposit")
        assert not has_permission(clerk, "refund")

    assert not has_permission(clerk, "override_deposit")


def test_approved_order_recorded_as_clerk(clerk, manager, customer, card, store):
    with approved_by(manager, "override_deposit"):
        order = order_create(user=clerk, order_type="sales_order", customer_id=customer.pk,
                             lines=[LineInput(sku="A", quantity=1)], payments=[])

    assert order.created_by == clerk
    users = set(Event.objects.filter(order=order).values_list("user__username", flat=True))
    assert users == {"carl"}


def test_approval_by_clerk_grants_nothing(clerk, customer, card, store):
    with approved_by(clerk, "override_deposit"), pytest.raises(Exception) as raised:
        order_create(user=clerk, order_type="sales_order", customer_id=customer.pk,
                     lines=[LineInput(sku="A", quantity=1)], payments=[])

    assert getattr(raised.value, "code", "") == "deposit_below_minimum"


def test_nul_in_item_rejected(owner):
    with pytest.raises(ValidationFailed) as raised:
        item_create(user=owner, data=ItemInput(sku="ZZ\x001", description="mug",
                                               price=Decimal("1.00")))

    assert raised.value.field == "sku"


def test_clerk_cannot_create_item(clerk):
    with pytest.raises(PermissionDenied):
        item_create(user=clerk, data=ItemInput(sku="Z1", description="mug",
                                               price=Decimal("1.00")))

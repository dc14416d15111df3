"""Fixtures of the REST API tests.

Every test in this folder ends with a check of the engine's invariants
(buckets, reservations, request coverage, order status and paid amount) and
of the item record's buckets. The check runs inside the test's own call, so
a violation fails that test.
"""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from backroom.accounts.services import user_create
from backroom.catalog.models import Item, Vendor
from backroom.core.invariants import invariant_violations
from backroom.customers.models import Customer

from .helpers import bucket_violations

PASSWORD = "counter-Pass-2026"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    if "db" in item.fixturenames:
        violations = invariant_violations() + bucket_violations()
        assert violations == [], "invariants broken after the test:\n" + "\n".join(violations)
    return result


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Nearly every test creates users, and the production hasher would
    # dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client_for(api):
    """Build a client like `api` for another user."""
    return type(api)


@pytest.fixture
def manager_api(client_for, manager):
    return client_for(manager)


@pytest.fixture
def supervisor_api(client_for, roles):
    return client_for(user_create(username="sam", role="supervisor", password=PASSWORD))


@pytest.fixture
def guest_api(client_for, roles):
    """A client for a user with no role, so without any permission."""
    return client_for(User.objects.create_user(username="gus", password=PASSWORD))


@pytest.fixture
def make_item(db, vendor):
    """Create a catalog item (no tax, vendor V unless another is given) with units on hand."""

    def make(sku: str, *, on_hand: int = 0, price: str = "10.00", cost: str = "5.00",
             taxable: bool = False, **fields) -> Item:
        fields.setdefault("vendor", vendor)
        return Item.objects.create(sku=sku, description=f"item {sku}", price=Decimal(price),
                                   cost=Decimal(cost), on_hand=on_hand, taxable=taxable,
                                   **fields)

    return make


@pytest.fixture
def other_vendor(db):
    return Vendor.objects.create(code="W", name="Vendor W", lead_time_days=10)


@pytest.fixture
def make_customer(db):
    def make(name: str, **fields) -> Customer:
        fields.setdefault("email", f"{name.lower().replace(' ', '.')}@example.com")
        return Customer.objects.create(name=name, **fields)

    return make


@pytest.fixture
def other_customer(make_customer):
    return make_customer("Customer D")

"""Fixtures shared by the whole suite: users of each role, a store, an API client."""

from decimal import Decimal

import pytest
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from backroom.accounts.services import roles_ensure, token_create, user_create
from backroom.catalog.models import Item, Vendor
from backroom.core.models import StoreSettings
from backroom.customers.models import Customer
from backroom.sales.payments import PaymentInput
from backroom.sales.services import LineInput, order_create

PASSWORD = "counter-Pass-2026"

# Property tests check results, never timings: on a busy machine Hypothesis's
# per-example deadline and its slow-generation health check fail correct code.
hypothesis_settings.register_profile(
    "backroom", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("backroom")


@pytest.fixture(autouse=True)
def notices_in_request_thread(settings):
    """Send ready notices inline: a background thread cannot see a test's open transaction."""
    settings.BACKROOM_NOTICES_IN_BACKGROUND = False


@pytest.fixture
def roles(db):
    roles_ensure()


def _user(username: str, role: str):
    return user_create(username=username, role=role, password=PASSWORD)


@pytest.fixture
def owner(roles):
    return _user("olive", "owner")


@pytest.fixture
def manager(roles):
    return _user("maria", "manager")


@pytest.fixture
def clerk(roles):
    return _user("carl", "clerk")


@pytest.fixture
def store(db):
    return StoreSettings.load()


@pytest.fixture
def vendor(db):
    return Vendor.objects.create(code="V", name="Vendor V", lead_time_days=5)


@pytest.fixture
def customer(db):
    return Customer.objects.create(name="Customer C", email="c@example.com")


@pytest.fixture
def card(db, vendor):
    return Item.objects.create(sku="A", description="birthday card", price=Decimal("4.00"),
                               cost=Decimal("1.50"), vendor=vendor, on_hand=10, taxable=False)


@pytest.fixture
def scarf(db, vendor):
    return Item.objects.create(sku="B", description="blue scarf", price=Decimal("30.00"),
                               cost=Decimal("15.00"), vendor=vendor, on_hand=0, taxable=False)


@pytest.fixture
def waiting_order(owner, customer, card, scarf, store):
    """A sales order of one card (reserved) and one scarf (back-ordered), 34.00 paid."""
    return order_create(
        user=owner, order_type="sales_order", customer_id=customer.pk,
        lines=[LineInput(sku="A", quantity=1), LineInput(sku="B", quantity=1)],
        payments=[PaymentInput(amount=Decimal("34.00"), tender="cash")])


class ApiClient:
    """A Django test client that sends JSON with a bearer token to /api/v1."""

    def __init__(self, user) -> None:
        _, self.token = token_create(user=user)
        self.client = Client()

    def _headers(self, extra: dict | None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"}
        headers.update(extra or {})
        return headers

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1{path}", params, headers=self._headers(None))

    def post(self, path: str, body: dict | None = None, headers: dict | None = None):
        return self.client.post(f"/api/v1{path}", body or {}, content_type="application/json",
                                headers=self._headers(headers))

    def patch(self, path: str, body: dict):
        return self.client.patch(f"/api/v1{path}", body, content_type="application/json",
                                 headers=self._headers(None))


@pytest.fixture
def api(owner):
    return ApiClient(owner)


@pytest.fixture
def clerk_api(clerk):
    return ApiClient(clerk)

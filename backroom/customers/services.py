"""Customers: create, update, and the built-in walk-in customer."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from backroom.core import sql
from backroom.core.errors import NotFound, ValidationFailed, reject_nul
from backroom.customers.models import Customer

WALK_IN_NAME = "Retail customer"


def walk_in_customer() -> Customer:
    """Return the walk-in customer, creating it on first use."""
    # Every walk-in sale reads it, so the SELECT is built once.
    found = sql.model_rows(Customer, '"is_walk_in" = %s', [True])
    if found:
        return found[0]
    customer, _ = Customer.objects.get_or_create(
        is_walk_in=True, defaults={"name": WALK_IN_NAME, "notify": False})
    return customer


def _clean(name: str, email: str, phone: str) -> tuple[str, str, str]:
    reject_nul(name=name, email=email, phone=phone)
    name = (name or "").strip()
    email = (email or "").strip()
    if not name:
        raise ValidationFailed("The customer's name is empty; give a name.", field="name")
    if len(name) > 200:
        raise ValidationFailed("The customer's name is longer than 200 characters.",
                               field="name")
    if email:
        try:
            validate_email(email)
            # The mail library sends a domain with other than ASCII letters in its IDNA
            # form, which some such domains have none of (a label too long, say).
            email.rpartition("@")[2].encode("idna")
        except (ValidationError, UnicodeError):
            raise ValidationFailed(
                f"'{email}' is not a valid e-mail address; correct it or leave it empty.",
                field="email") from None
    phone = (phone or "").strip()
    if len(phone) > 40:
        raise ValidationFailed("The phone number is longer than 40 characters.", field="phone")
    return name, email, phone


@transaction.atomic
def customer_create(*, name: str, email: str = "", phone: str = "", notify: bool = True,
                    external_id: str = "") -> Customer:
    name, email, phone = _clean(name, email, phone)
    return Customer.objects.create(
        name=name, email=email, phone=phone, notify=notify, external_id=external_id)


@transaction.atomic
def customer_update(*, customer_id: int, name: str | None = None, email: str | None = None,
                    phone: str | None = None, notify: bool | None = None) -> Customer:
    """Change a customer. A value left as None keeps the customer's current one."""
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Customer {customer_id} not found; check the id.", field="customer")
    if customer.is_walk_in:
        raise ValidationFailed(
            f"Customer {customer_id} is the walk-in customer ('{customer.name}'), used for "
            "sales to unnamed customers, and cannot be changed; add a customer instead.",
            field="customer")
    if name is None:
        name = customer.name
    if email is None:
        email = customer.email
    if phone is None:
        phone = customer.phone
    customer.name, customer.email, customer.phone = _clean(name, email, phone)
    if notify is not None:
        customer.notify = notify
    customer.save(update_fields=["name", "email", "phone", "notify"])
    return customer


def customer_get(customer_id: int) -> Customer:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Customer {customer_id} not found; check the id.", field="customer")
    return customer

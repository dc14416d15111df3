"""Create-or-update of one item, vendor or customer, for imports and the replay.

Each upsert finds the record by its key (SKU, vendor code, customer id,
external id or e-mail), creates it through the catalog or customer service
when it is new, and otherwise changes only the fields given that differ.
It returns "created", "updated" or "unchanged".
"""

import dataclasses
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from backroom.accounts.permissions import require
from backroom.catalog.locks import lock_items
from backroom.catalog.models import Barcode, Item, Vendor
from backroom.catalog.services import ItemInput, item_create, item_validate, vendor_create
from backroom.core.audit import AuditLog
from backroom.customers.models import Customer
from backroom.customers.services import customer_create, customer_update

ITEM_FIELDS = ("description", "price", "cost", "vendor", "vendor_sku", "category", "taxable",
               "tracked", "reorder_point", "reorder_quantity")


class RowInvalid(Exception):
    """A record's values break the catalog rules; `problems` holds (field, code, message)."""

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        super().__init__("; ".join(message for _, _, message in problems))
        self.problems = problems


# ---------------------------------------------------------------- items


def item_upsert(*, user, values: dict[str, Any]) -> str:
    """Create or update the item with the SKU in `values`."""
    require(user, "manage_catalog", "import items")
    item = Item.objects.select_related("vendor").filter(sku=values["sku"]).first()
    data = _item_input(item, values)
    _item_check(item, data)
    if item is None:
        item_create(user=user, data=data)
        return "created"
    return _item_update(user, item, data)


def _item_input(item: Item | None, values: dict[str, Any]) -> ItemInput:
    if item is None:
        defaults = ItemInput(sku=values["sku"], description="", price=Decimal(0))
    else:
        defaults = ItemInput(
            sku=item.sku, description=item.description, price=item.price, cost=item.cost,
            vendor=item.vendor.code if item.vendor else None, vendor_sku=item.vendor_sku,
            category=item.category, taxable=item.taxable, tracked=item.tracked,
            reorder_point=item.reorder_point, reorder_quantity=item.reorder_quantity)
    given = {name: values[name] for name in (*ITEM_FIELDS, "barcode") if name in values}
    return dataclasses.replace(defaults, **given)


def _item_check(item: Item | None, data: ItemInput) -> None:
    problems = []
    for problem in item_validate(data):
        code = "unknown_vendor" if problem["field"] == "vendor" else "invalid_value"
        problems.append((problem["field"], code, problem["message"]))
    if item is not None and item.tracked and not data.tracked and item.on_hand:
        problems.append(("tracked", "invalid_value",
                         f"Item {item.sku} has {item.on_hand} on hand; count them out before "
                         "making it untracked."))
    if data.barcode:
        owner = (Barcode.objects.select_related("item").filter(code=data.barcode)
                 .exclude(item__sku=data.sku).first())
        if owner is not None:
            problems.append(("barcode", "duplicate_key",
                             f"Barcode '{data.barcode}' belongs to the item with SKU "
                             f"{owner.item.sku}; give each barcode to one item."))
    if problems:
        raise RowInvalid(problems)


def _item_update(user, item: Item, data: ItemInput) -> str:
    changes: dict[str, Any] = {}
    for name in ITEM_FIELDS:
        new = getattr(data, name)
        old = (item.vendor.code if item.vendor else None) if name == "vendor" \
            else getattr(item, name)
        if name == "cost":
            new = new or Decimal(0)
        if new != old:
            changes[name] = (old, new)
    new_barcode = bool(data.barcode) and not item.barcodes.filter(code=data.barcode).exists()
    if not changes and not new_barcode:
        return "unchanged"

    locked = lock_items([item.pk])[item.pk]
    for name, (_, new) in changes.items():
        if name == "vendor":
            locked.vendor = Vendor.objects.get(code=new) if new else None
        else:
            setattr(locked, name, new)
    locked.save(update_fields=list(changes))
    if new_barcode and data.barcode:
        Barcode.objects.create(item=locked, code=data.barcode)
    audit = AuditLog(user)
    audit.add("item_updated", item=locked, sku=locked.sku,
              changes={name: [str(old), str(new)] for name, (old, new) in changes.items()},
              barcode_added=data.barcode if new_barcode else None)
    audit.flush()
    return "updated"


# ---------------------------------------------------------------- vendors


def vendor_upsert(*, user, values: dict[str, Any]) -> str:
    """Create or update the vendor with the code in `values`."""
    require(user, "manage_catalog", "import vendors")
    vendor = Vendor.objects.filter(code=values["code"]).first()
    merged = {
        "code": values["code"],
        "name": values.get("name", vendor.name if vendor else ""),
        "email": values.get("email", vendor.email if vendor else ""),
        "lead_time_days": values.get("lead_time_days", vendor.lead_time_days if vendor else 7),
    }
    _vendor_check(merged)
    if vendor is None:
        vendor_create(user=user, **merged)
        return "created"
    changed = [name for name in ("name", "email", "lead_time_days")
               if getattr(vendor, name) != merged[name]]
    if not changed:
        return "unchanged"
    vendor = Vendor.objects.select_for_update().get(pk=vendor.pk)
    for name in changed:
        setattr(vendor, name, merged[name])
    vendor.save(update_fields=changed)
    return "updated"


def _vendor_check(values: dict[str, Any]) -> None:
    problems = []
    if len(values["code"]) > 20:
        problems.append(("code", "invalid_value",
                         f"Vendor code '{values['code']}' is longer than 20 characters."))
    if not values["name"].strip():
        problems.append(("name", "missing_value", "The vendor's name is missing."))
    if values["email"] and not _email_valid(values["email"]):
        problems.append(("email", "invalid_value",
                         f"'{values['email']}' is not a valid e-mail address."))
    if not 0 <= values["lead_time_days"] <= 365:
        problems.append(("lead_time_days", "invalid_value",
                         f"Lead time {values['lead_time_days']} days is out of range; give 0 "
                         "to 365."))
    if problems:
        raise RowInvalid(problems)


# ---------------------------------------------------------------- customers


def customer_upsert(*, user, values: dict[str, Any]) -> str:
    """Create or update a customer found by id, then external id, then e-mail."""
    customer = _customer_find(values)
    merged = {
        "name": values.get("name", customer.name if customer else ""),
        "email": values.get("email", customer.email if customer else ""),
        "phone": values.get("phone", customer.phone if customer else ""),
        "notify": values.get("notify", customer.notify if customer else True),
    }
    if merged["email"] and not _email_valid(merged["email"]):
        raise RowInvalid([("email", "invalid_value",
                           f"'{merged['email']}' is not a valid e-mail address.")])
    if customer is None:
        customer_create(external_id=values.get("external_id", ""), **merged)
        return "created"
    if all(getattr(customer, name) == value for name, value in merged.items()):
        return "unchanged"
    customer_update(customer_id=customer.pk, **merged)
    return "updated"


def _customer_find(values: dict[str, Any]) -> Customer | None:
    customers = Customer.objects.filter(is_walk_in=False)
    if "id" in values:
        customer = Customer.objects.filter(pk=values["id"]).first()
        if customer is None:
            raise RowInvalid([("id", "not_found",
                               f"Customer {values['id']} not found; leave the id empty to "
                               "create a new customer.")])
        if customer.is_walk_in:
            # The walk-in customer records the sales to unnamed customers, so it keeps its
            # name and gets no e-mail. customer_update rejects it too.
            raise RowInvalid([("id", "invalid_value",
                               f"Customer {customer.pk} is the walk-in customer "
                               f"('{customer.name}'), which an import cannot change. Remove "
                               "the row, or leave the id empty to create a new customer.")])
        return customer
    if values.get("external_id"):
        return customers.filter(external_id=values["external_id"]).first()
    if values.get("email"):
        return customers.filter(email__iexact=values["email"]).order_by("pk").first()
    return None


def _email_valid(email: str) -> bool:
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True

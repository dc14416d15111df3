"""Vendors, items and stock adjustments."""

import re
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from backroom.accounts.permissions import require
from backroom.allocation.services import Offer, items_waited_for, stock_offer, stock_offers
from backroom.catalog.locks import lock_items
from backroom.catalog.models import Barcode, Item, StockAdjustment, Vendor
from backroom.catalog.selectors import item_get, vendor_get
from backroom.core import sql
from backroom.core.audit import AuditLog
from backroom.core.bulk import update_rows
from backroom.core.errors import (
    Conflict,
    InsufficientStock,
    NotFound,
    ValidationFailed,
    reject_nul,
)
from backroom.core.inserts import insert_all
from backroom.core.money import MAX_AMOUNT

SKU_PATTERN = re.compile(r"^\S(?:.{0,38}\S)?$")
MAX_ADJUSTMENT = 1_000_000


@transaction.atomic
def vendor_create(*, user, code: str, name: str, email: str = "",
                  lead_time_days: int = 7) -> Vendor:
    require(user, "manage_catalog", "create a vendor")
    reject_nul(code=code, name=name, email=email)
    code = (code or "").strip()
    name = (name or "").strip()
    if not code or len(code) > 20:
        raise ValidationFailed(f"Vendor code '{code}' is invalid; give 1 to 20 characters.",
                               field="code")
    if not name:
        raise ValidationFailed("The vendor's name is empty; give a name.", field="name")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationFailed(f"'{email}' is not a valid e-mail address.",
                                   field="email") from None
    if not 0 <= lead_time_days <= 365:
        raise ValidationFailed(
            f"Lead time {lead_time_days} days is out of range; give 0 to 365.",
            field="lead_time_days")
    if Vendor.objects.filter(code=code).exists():
        raise Conflict(f"Vendor '{code}' already exists; choose another code.", field="code")
    return Vendor.objects.create(code=code, name=name, email=email,
                                 lead_time_days=lead_time_days)


@dataclass(frozen=True)
class ItemInput:
    sku: str
    description: str
    price: Decimal
    cost: Decimal | None = None
    vendor: str | None = None
    vendor_sku: str = ""
    category: str = ""
    barcode: str | None = None
    taxable: bool = True
    tracked: bool = True
    reorder_point: int = 0
    reorder_quantity: int = 0


def item_validate(data: ItemInput,
                  vendor_codes: set[str] | None = None) -> list[dict[str, str]]:
    """Return every problem of an item's fields as {field, message} rows.

    `vendor_codes`, when given, contains every vendor code that exists, so no
    query is needed to check the item's vendor.
    """
    errors = []
    sku = data.sku or ""
    if not SKU_PATTERN.match(sku):
        errors.append({"field": "sku", "message":
                       f"SKU '{sku}' is invalid; give 1 to 40 characters without leading or "
                       "trailing spaces."})
    if not (data.description or "").strip():
        errors.append({"field": "description", "message": "The description is empty."})
    elif len(data.description) > 300:
        errors.append({"field": "description",
                       "message": "The description is longer than 300 characters."})
    if data.price is None:
        errors.append({"field": "price", "message": "The price is missing; give 0 or more."})
    elif not 0 <= data.price <= MAX_AMOUNT:
        errors.append({"field": "price", "message":
                       f"Price {data.price} is invalid; give 0 to {MAX_AMOUNT}."})
    if data.cost is not None and not 0 <= data.cost <= MAX_AMOUNT:
        errors.append({"field": "cost", "message":
                       f"Cost {data.cost} is invalid; give 0 to {MAX_AMOUNT}."})
    for name in ("reorder_point", "reorder_quantity"):
        value = getattr(data, name)
        if not isinstance(value, int) or not 0 <= value <= MAX_ADJUSTMENT:
            errors.append({"field": name,
                           "message": f"{value} is invalid; give 0 to {MAX_ADJUSTMENT}."})
    if data.vendor and not (data.vendor in vendor_codes if vendor_codes is not None
                            else Vendor.objects.filter(code=data.vendor).exists()):
        errors.append({"field": "vendor", "message":
                       f"Vendor '{data.vendor}' not found; create the vendor first."})
    return errors


@transaction.atomic
def item_create(*, user, data: ItemInput) -> Item:
    require(user, "manage_catalog", "create an item")
    reject_nul(sku=data.sku, description=data.description, vendor_sku=data.vendor_sku,
               category=data.category, barcode=data.barcode)
    errors = item_validate(data)
    if errors:
        raise ValidationFailed(errors[0]["message"], errors=errors)
    if Item.objects.filter(sku=data.sku).exists():
        raise Conflict(f"Item '{data.sku}' already exists; choose another SKU.", field="sku")
    if data.barcode:
        owner = (Barcode.objects.filter(code=data.barcode)
                 .values_list("item__sku", flat=True).first())
        if owner is not None:
            raise Conflict(f"Barcode '{data.barcode}' belongs to the item with SKU {owner}; "
                           "give each barcode to one item.", field="barcode")
    item = Item.objects.create(
        sku=data.sku, description=data.description.strip(), price=data.price,
        cost=data.cost or 0, vendor=vendor_get(data.vendor) if data.vendor else None,
        vendor_sku=data.vendor_sku, category=data.category, taxable=data.taxable,
        tracked=data.tracked, reorder_point=data.reorder_point,
        reorder_quantity=data.reorder_quantity)
    if data.barcode:
        Barcode.objects.create(item=item, code=data.barcode)
    audit = AuditLog(user)
    audit.add("item_created", item=item, sku=item.sku)
    audit.flush()
    return item


@transaction.atomic
def items_create(*, user, inputs: list[ItemInput]) -> list[Item]:
    """Create many items with a few statements. Any invalid row rejects them all.

    The checks are those of `item_create`; the errors name each row as
    `items[N].field`.
    """
    require(user, "manage_catalog", "create items")
    for data in inputs:
        reject_nul(sku=data.sku, description=data.description, vendor_sku=data.vendor_sku,
                   category=data.category, barcode=data.barcode)
    vendors = {vendor.code: vendor for vendor in Vendor.objects.filter(
        code__in={data.vendor for data in inputs if data.vendor})}
    skus = [data.sku for data in inputs]
    barcodes = [data.barcode for data in inputs if data.barcode]
    taken_skus = set(Item.objects.filter(sku__in=skus).values_list("sku", flat=True))
    taken_barcodes = dict(Barcode.objects.filter(code__in=barcodes)
                          .values_list("code", "item__sku"))
    errors = []
    seen_skus: set[str] = set()
    seen_barcodes: set[str] = set()
    for position, data in enumerate(inputs):
        field = f"items[{position}]"
        for problem in item_validate(data, vendor_codes=set(vendors)):
            errors.append({"field": f"{field}.{problem['field']}",
                           "message": problem["message"]})
        if data.sku in taken_skus or data.sku in seen_skus:
            errors.append({"field": f"{field}.sku", "message":
                           f"Item '{data.sku}' already exists; choose another SKU."})
        if data.barcode in taken_barcodes:
            errors.append({"field": f"{field}.barcode", "message":
                           f"Barcode '{data.barcode}' belongs to the item with SKU "
                           f"{taken_barcodes[data.barcode]}; give each barcode to one item."})
        elif data.barcode and data.barcode in seen_barcodes:
            errors.append({"field": f"{field}.barcode", "message":
                           f"Barcode '{data.barcode}' is given to an earlier item of this "
                           "batch too; give each barcode to one item."})
        seen_skus.add(data.sku)
        if data.barcode:
            seen_barcodes.add(data.barcode)
    if errors:
        raise ValidationFailed(errors[0]["message"], errors=errors)

    items = [
        Item(sku=data.sku, description=data.description.strip(), price=data.price,
             cost=data.cost or 0, vendor=vendors[data.vendor] if data.vendor else None,
             vendor_sku=data.vendor_sku, category=data.category, taxable=data.taxable,
             tracked=data.tracked, reorder_point=data.reorder_point,
             reorder_quantity=data.reorder_quantity)
        for data in inputs
    ]
    insert_all(Item, items)
    insert_all(Barcode, [Barcode(item=item, code=data.barcode)
                         for item, data in zip(items, inputs, strict=True) if data.barcode])
    audit = AuditLog(user)
    for item in items:
        audit.add("item_created", item=item, sku=item.sku)
    audit.flush()
    return items


@transaction.atomic
def items_count_in(*, user, counts: dict[str, int], reason: str) -> None:
    """Add counted units to several items at once (opening stock, units found in a count).

    Each item gets the stock adjustment and audit event of `item_adjust_stock`,
    and its new units serve the customers waiting for it first.
    """
    require(user, "adjust_stock", "adjust stock")
    reason = (reason or "").strip()
    reject_nul(reason=reason)
    if not reason:
        raise ValidationFailed("Give a reason for the adjustment.", field="reason")
    for sku, quantity in counts.items():
        if not isinstance(quantity, int) or not 0 < quantity <= MAX_ADJUSTMENT:
            raise ValidationFailed(
                f"Quantity {quantity} of {sku} is invalid; give a whole number from 1 to "
                f"{MAX_ADJUSTMENT}.", field="quantity")
    ids = dict(Item.objects.filter(sku__in=list(counts)).values_list("sku", "pk"))
    missing = [sku for sku in counts if sku not in ids]
    if missing:
        raise NotFound(f"Item '{missing[0]}' not found; check the SKU.", field="sku")
    items = lock_items(ids.values())
    untracked = [item.sku for item in items.values() if not item.tracked]
    if untracked:
        raise ValidationFailed(
            f"Item {untracked[0]} is not stock-tracked; it has no stock to adjust.", field="sku")

    audit = AuditLog(user)
    user_id = audit.user.pk if audit.user is not None else None
    adjustments = []
    for item in items.values():
        quantity = counts[item.sku]
        before = item.on_hand
        item.on_hand += quantity
        adjustments.append(StockAdjustment(
            item=item, quantity=quantity, reason=reason, on_hand_before=before,
            on_hand_after=item.on_hand, user_id=user_id))
        audit.add("stock_adjusted", item=item, quantity=quantity, reason=reason,
                  on_hand_before=before, on_hand_after=item.on_hand)
    update_rows(Item, list(items.values()), ["on_hand"])
    insert_all(StockAdjustment, adjustments)
    stock_offers([Offer(items[item_id], counts[items[item_id].sku])
                  for item_id in sorted(items_waited_for(items))], audit, source="adjustment")
    audit.flush()


@transaction.atomic
def item_adjust_stock(*, user, sku: str, quantity: int, reason: str) -> Item:
    """Add (or, with a negative quantity, remove) units; new units serve waiting customers first."""
    require(user, "adjust_stock", "adjust stock")
    if not isinstance(quantity, int) or quantity == 0 or abs(quantity) > MAX_ADJUSTMENT:
        raise ValidationFailed(
            f"Quantity {quantity} is invalid; give a non-zero whole number up to "
            f"{MAX_ADJUSTMENT} either way.", field="quantity")
    reason = (reason or "").strip()
    reject_nul(reason=reason)
    if not reason:
        raise ValidationFailed("Give a reason for the adjustment.", field="reason")
    item_id = item_get(sku).pk
    item = lock_items([item_id])[item_id]
    if not item.tracked:
        raise ValidationFailed(f"Item {item.sku} is not stock-tracked; it has no stock to adjust.",
                               field="sku")
    if quantity < 0 and -quantity > item.available:
        raise InsufficientStock(
            f"Only {item.available} of {item.sku} are available to remove ({item.reserved} are "
            f"reserved for customers); back-order or cancel those lines first.",
            field="quantity", sku=item.sku, available=item.available, requested=-quantity)
    before = item.on_hand
    item.on_hand += quantity
    sql.execute('UPDATE "catalog_item" SET "on_hand" = %s WHERE "id" = %s',
                [item.on_hand, item.pk])
    StockAdjustment.objects.create(
        item=item, quantity=quantity, reason=reason, on_hand_before=before,
        on_hand_after=item.on_hand,
        user=user if user is not None and user.is_authenticated else None)
    audit = AuditLog(user)
    audit.add("stock_adjusted", item=item, quantity=quantity, reason=reason,
              on_hand_before=before, on_hand_after=item.on_hand)
    if quantity > 0:
        stock_offer(item, quantity, audit, source="adjustment")
    audit.flush()
    return sql.model_rows(Item, '"id" = %s', [item.pk])[0]

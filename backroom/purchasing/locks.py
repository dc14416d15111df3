"""Row locks on purchase orders, taken after the item locks."""

from backroom.catalog.models import Vendor
from backroom.core.errors import NotFound
from backroom.core.sql import database, value_rows
from backroom.purchasing.models import PurchaseOrder

_PO_ATTNAMES = [column.attname for column in PurchaseOrder._meta.concrete_fields]
_VENDOR_ATTNAMES = [column.attname for column in Vendor._meta.concrete_fields]
_PO_WITH_VENDOR_FIELDS = (*PurchaseOrder._meta.concrete_fields, *Vendor._meta.concrete_fields)


def _columns(model: type[PurchaseOrder] | type[Vendor]) -> str:
    return ", ".join(f'"{model._meta.db_table}"."{column.column}"'
                     for column in model._meta.concrete_fields)


# On databases that lock rows, the lock covers the PO's vendor row too.
PO_WITH_VENDOR_BY_NUMBER = (
    f'SELECT {_columns(PurchaseOrder)}, {_columns(Vendor)} FROM "purchasing_purchaseorder" '
    'INNER JOIN "catalog_vendor" '
    'ON "catalog_vendor"."id" = "purchasing_purchaseorder"."vendor_id" '
    'WHERE "purchasing_purchaseorder"."number" = %s')


def lock_purchase_order(number: str) -> PurchaseOrder:
    """Lock the purchase order with this number and return it with its vendor."""
    db = database()
    sql = PO_WITH_VENDOR_BY_NUMBER
    if db.features.has_select_for_update:
        sql += " FOR UPDATE"
    rows = value_rows(sql, [number], _PO_WITH_VENDOR_FIELDS)
    if not rows:
        raise NotFound(f"Purchase order '{number}' not found; check the number.",
                       field="number", number=number)
    po_values, vendor_values = rows[0][:len(_PO_ATTNAMES)], rows[0][len(_PO_ATTNAMES):]
    po = PurchaseOrder.from_db(db.alias, _PO_ATTNAMES, po_values)
    PurchaseOrder.vendor.field.set_cached_value(
        po, Vendor.from_db(db.alias, _VENDOR_ATTNAMES, vendor_values))
    return po

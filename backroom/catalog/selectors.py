"""Reads of the catalog: item lookup and the quantity buckets of the item record."""

from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet

from backroom.catalog.models import Item, Vendor
from backroom.core.errors import NotFound
from backroom.core.sql import ids_in, ids_value, model_rows, value_rows


@dataclass(frozen=True)
class ItemBuckets:
    on_hand: int
    reserved: int
    available: int
    requested: int
    requested_for_customers: int
    requested_for_stock: int
    on_order: int
    on_order_for_customers: int
    on_order_for_stock: int
    back_ordered: int


def item_get(sku: str) -> Item:
    """Return the item with this SKU, with its vendor read in the same statement."""
    # No SKU contains a NUL character, which PostgreSQL rejects in a parameter.
    rows = value_rows(ITEM_WITH_VENDOR_BY_SKU, [sku], _ITEM_WITH_VENDOR_FIELDS) \
        if "\x00" not in sku else []
    if not rows:
        raise NotFound(f"Item '{sku}' not found; check the SKU or create the item first.",
                       field="sku", sku=sku)
    item_values, vendor_values = rows[0][:len(_ITEM_ATTNAMES)], rows[0][len(_ITEM_ATTNAMES):]
    item = Item.from_db(connection.alias, _ITEM_ATTNAMES, item_values)
    vendor = (Vendor.from_db(connection.alias, _VENDOR_ATTNAMES, vendor_values)
              if vendor_values[0] is not None else None)
    Item.vendor.field.set_cached_value(item, vendor)
    return item


def _columns(model: type[Item] | type[Vendor]) -> str:
    return ", ".join(f'"{model._meta.db_table}"."{column.column}"'
                     for column in model._meta.concrete_fields)


_ITEM_ATTNAMES = [column.attname for column in Item._meta.concrete_fields]
_VENDOR_ATTNAMES = [column.attname for column in Vendor._meta.concrete_fields]
_ITEM_WITH_VENDOR_FIELDS = (*Item._meta.concrete_fields, *Vendor._meta.concrete_fields)
ITEM_WITH_VENDOR_BY_SKU = (
    f'SELECT {_columns(Item)}, {_columns(Vendor)} FROM "catalog_item" '
    'LEFT OUTER JOIN "catalog_vendor" ON "catalog_vendor"."id" = "catalog_item"."vendor_id" '
    'WHERE "catalog_item"."sku" = %s')


def vendor_get(code: str) -> Vendor:
    # No vendor code contains a NUL character, which PostgreSQL rejects in a parameter.
    vendors = model_rows(Vendor, '"code" = %s', [code]) if "\x00" not in code else []
    if not vendors:
        raise NotFound(f"Vendor '{code}' not found; check the code or create the vendor first.",
                       field="vendor", vendor=code)
    return vendors[0]


def item_search(query: str = "") -> QuerySet[Item]:
    """Items matching a SKU, a barcode, or every word of the description."""
    items = Item.objects.select_related("vendor").filter(is_custom=False)
    query = query.strip()
    if not query:
        return items.order_by("sku")
    exact = Q(sku__iexact=query) | Q(barcodes__code=query)
    words = Q()
    for word in query.split():
        words &= Q(description__icontains=word)
    return items.filter(exact | words | Q(sku__istartswith=query)).distinct().order_by("sku")


# The units of live purchase requests by item: open for customers, open for
# stock, and on order for customers.
REQUESTS_BY_ITEM = """
    SELECT "item_id",
        SUM(CASE WHEN "status" = 'open' AND "order_line_id" IS NOT NULL
            THEN "quantity" ELSE 0 END),
        SUM(CASE WHEN "status" = 'open' AND "order_line_id" IS NULL THEN "quantity" ELSE 0 END),
        SUM(CASE WHEN "status" = 'on_order' AND "order_line_id" IS NOT NULL
            THEN "quantity" ELSE 0 END)
    FROM "purchasing_purchaserequest"
    WHERE {ids_in} AND "status" IN ('open', 'on_order')
    GROUP BY "item_id"
"""

# The units still to come on the lines of open purchase orders, by item.
ON_ORDER_BY_ITEM = """
    SELECT "purchasing_purchaseorderline"."item_id",
        SUM("purchasing_purchaseorderline"."quantity" - "purchasing_purchaseorderline"."received")
    FROM "purchasing_purchaseorderline"
    INNER JOIN "purchasing_purchaseorder"
        ON "purchasing_purchaseorder"."id" = "purchasing_purchaseorderline"."purchase_order_id"
    WHERE {ids_in}
        AND "purchasing_purchaseorder"."status" IN ('draft', 'submitted', 'partially_received')
        AND NOT "purchasing_purchaseorderline"."closed_short"
        AND NOT "purchasing_purchaseorderline"."cancelled"
        AND "purchasing_purchaseorderline"."quantity" > "purchasing_purchaseorderline"."received"
    GROUP BY "purchasing_purchaseorderline"."item_id"
"""

# The back-ordered units of order lines, by item.
BACK_ORDERED_BY_ITEM = """
    SELECT "item_id", SUM("back_ordered") FROM "sales_orderline"
    WHERE {ids_in} AND "back_ordered" > 0
    GROUP BY "item_id"
"""


def item_buckets_many(items: list[Item], *,
                      with_back_orders: bool = True) -> dict[int, ItemBuckets]:
    """Compute the quantity buckets of several items with three grouped queries.

    Without `with_back_orders`, `back_ordered` is left at 0 and its query,
    which reads every order line of the items, is skipped.
    """
    return item_buckets_of({item.pk: (item.on_hand, item.reserved) for item in items},
                           with_back_orders=with_back_orders)


def item_buckets_of(stock: dict[int, tuple[int, int]], *,
                    with_back_orders: bool = True) -> dict[int, ItemBuckets]:
    """Compute the quantity buckets, as `item_buckets_many` does, of items given
    by id with their (on_hand, reserved) counters."""
    ids = ids_value(stock)
    requested: dict[int, tuple[int, int]] = {}
    for_customers: dict[int, int] = {}
    for item_id, open_for_customers, open_for_stock, on_order_for_customers in value_rows(
            REQUESTS_BY_ITEM.format(ids_in=ids_in('"item_id"')), [ids], (None,) * 4):
        requested[item_id] = (open_for_customers, open_for_stock)
        for_customers[item_id] = on_order_for_customers
    on_order: dict[int, int] = {
        item_id: units for item_id, units in value_rows(
            ON_ORDER_BY_ITEM.format(ids_in=ids_in('"purchasing_purchaseorderline"."item_id"')),
            [ids], (None, None))}
    back_ordered: dict[int, int] = {}
    if with_back_orders:
        back_ordered = {item_id: units for item_id, units in value_rows(
            BACK_ORDERED_BY_ITEM.format(ids_in=ids_in('"item_id"')), [ids], (None, None))}

    result = {}
    for item_id, (on_hand, reserved) in stock.items():
        open_for_customers, open_for_stock = requested.get(item_id, (0, 0))
        ordered = on_order.get(item_id, 0)
        ordered_for_customers = min(for_customers.get(item_id, 0), ordered)
        result[item_id] = ItemBuckets(
            on_hand=on_hand,
            reserved=reserved,
            available=on_hand - reserved,
            requested=open_for_customers + open_for_stock,
            requested_for_customers=open_for_customers,
            requested_for_stock=open_for_stock,
            on_order=ordered,
            on_order_for_customers=ordered_for_customers,
            on_order_for_stock=ordered - ordered_for_customers,
            back_ordered=back_ordered.get(item_id, 0),
        )
    return result


def item_buckets(item: Item) -> ItemBuckets:
    return item_buckets_many([item])[item.pk]

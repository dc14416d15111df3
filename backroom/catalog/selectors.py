"""Reads of the catalog: item lookup and the quantity buckets of the item record."""

from dataclasses import dataclass

from django.db.models import F, Q, QuerySet, Sum

from backroom.catalog.models import Item, Vendor
from backroom.core.errors import NotFound


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
    try:
        return Item.objects.select_related("vendor").get(sku=sku)
    except Item.DoesNotExist:
        raise NotFound(f"Item '{sku}' not found; check the SKU or create the item first.",
                       field="sku", sku=sku) from None


def vendor_get(code: str) -> Vendor:
    try:
        return Vendor.objects.get(code=code)
    except Vendor.DoesNotExist:
        raise NotFound(f"Vendor '{code}' not found; check the code or create the vendor first.",
                       field="vendor", vendor=code) from None


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


def item_buckets_many(items: list[Item], *,
                      with_back_orders: bool = True) -> dict[int, ItemBuckets]:
    """Compute the quantity buckets of several items with four grouped queries.

    Without `with_back_orders`, `back_ordered` is left at 0 and its query,
    which reads every order line of the items, is skipped.
    """
    from backroom.purchasing.models import POStatus, PurchaseOrderLine, PurchaseRequest
    from backroom.sales.models import OrderLine

    ids = [item.pk for item in items]
    requested: dict[int, tuple[int, int]] = {}
    for row in (PurchaseRequest.objects.filter(item_id__in=ids, status="open")
                .values("item_id")
                .annotate(customers=Sum("quantity", filter=Q(order_line__isnull=False), default=0),
                          stock=Sum("quantity", filter=Q(order_line__isnull=True), default=0))):
        requested[row["item_id"]] = (row["customers"], row["stock"])

    open_po = Q(purchase_order__status__in=[
        POStatus.DRAFT, POStatus.SUBMITTED, POStatus.PARTIALLY_RECEIVED],
        closed_short=False, cancelled=False, quantity__gt=F("received"))
    on_order: dict[int, int] = {}
    for item_id, units in (PurchaseOrderLine.objects.filter(open_po, item_id__in=ids)
                           .values("item_id").annotate(units=Sum(F("quantity") - F("received")))
                           .values_list("item_id", "units")):
        on_order[item_id] = units
    for_customers: dict[int, int] = {}
    for item_id, units in (PurchaseRequest.objects.filter(item_id__in=ids, status="on_order",
                                                          order_line__isnull=False)
                           .values("item_id").annotate(units=Sum("quantity"))
                           .values_list("item_id", "units")):
        for_customers[item_id] = units
    back_ordered: dict[int, int] = {}
    if with_back_orders:
        for item_id, units in (OrderLine.objects.filter(item_id__in=ids, back_ordered__gt=0)
                               .values("item_id").annotate(units=Sum("back_ordered"))
                               .values_list("item_id", "units")):
            back_ordered[item_id] = units

    result = {}
    for item in items:
        customers, stock = requested.get(item.pk, (0, 0))
        ordered = on_order.get(item.pk, 0)
        ordered_for_customers = min(for_customers.get(item.pk, 0), ordered)
        result[item.pk] = ItemBuckets(
            on_hand=item.on_hand,
            reserved=item.reserved,
            available=item.on_hand - item.reserved,
            requested=customers + stock,
            requested_for_customers=customers,
            requested_for_stock=stock,
            on_order=ordered,
            on_order_for_customers=ordered_for_customers,
            on_order_for_stock=ordered - ordered_for_customers,
            back_ordered=back_ordered.get(item.pk, 0),
        )
    return result


def item_buckets(item: Item) -> ItemBuckets:
    return item_buckets_many([item])[item.pk]

from typing import Any

from django.http import HttpRequest
from ninja import Router
from pydantic import Field, StrictBool

from backroom.api.idempotency import idempotent
from backroom.api.pagination import paginate
from backroom.api.schemas import Money, Quantity, QueryInt, RequestBody
from backroom.catalog import services
from backroom.catalog.models import Item, Vendor
from backroom.catalog.selectors import item_buckets_many, item_get, item_search
from backroom.core.money import format_money

router = Router(tags=["catalog"])


class VendorIn(RequestBody):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(default="", max_length=254)
    lead_time_days: Quantity = 7


class ItemIn(RequestBody):
    sku: str = Field(min_length=1, max_length=40)
    description: str = Field(min_length=1, max_length=300)
    price: Money
    cost: Money | None = None
    vendor: str | None = None
    vendor_sku: str = Field(default="", max_length=60)
    category: str = Field(default="", max_length=100)
    barcode: str | None = Field(default=None, max_length=64)
    taxable: StrictBool = True
    tracked: StrictBool = True
    reorder_point: Quantity = Field(default=0, ge=0)
    reorder_quantity: Quantity = Field(default=0, ge=0)


class AdjustmentIn(RequestBody):
    quantity: Quantity
    reason: str = Field(max_length=200)


def vendor_dict(vendor: Vendor) -> dict[str, Any]:
    return {"code": vendor.code, "name": vendor.name, "email": vendor.email,
            "lead_time_days": vendor.lead_time_days}


def items_dicts(items: list[Item]) -> list[dict[str, Any]]:
    buckets = item_buckets_many(items)
    rows = []
    for item in items:
        bucket = buckets[item.pk]
        rows.append({
            "sku": item.sku,
            "description": item.description,
            "category": item.category,
            "price": format_money(item.price),
            "cost": format_money(item.cost),
            "vendor": item.vendor.code if item.vendor else None,
            "vendor_sku": item.vendor_sku,
            "barcodes": [barcode.code for barcode in item.barcodes.all()],
            "taxable": item.taxable,
            "tracked": item.tracked,
            "reorder_point": item.reorder_point,
            "reorder_quantity": item.reorder_quantity,
            "on_hand": bucket.on_hand,
            "reserved": bucket.reserved,
            "available": bucket.available,
            "requested": bucket.requested,
            "requested_for_customers": bucket.requested_for_customers,
            "requested_for_stock": bucket.requested_for_stock,
            "on_order": bucket.on_order,
            "on_order_for_customers": bucket.on_order_for_customers,
            "on_order_for_stock": bucket.on_order_for_stock,
            "back_ordered": bucket.back_ordered,
        })
    return rows


def item_dict(item: Item) -> dict[str, Any]:
    return items_dicts([item])[0]


@router.post("/vendors", response={201: dict}, summary="Create a vendor")
@idempotent(201)
def vendor_create(request: HttpRequest, payload: VendorIn) -> dict[str, Any]:
    vendor = services.vendor_create(user=request.user, **payload.model_dump())
    return vendor_dict(vendor)


@router.get("/vendors", response=dict, summary="List vendors")
def vendor_list(request: HttpRequest, limit: QueryInt | None = None,
                cursor: str | None = None) -> dict[str, Any]:
    return paginate(Vendor.objects.all(), keys=[("code", False)], limit=limit, cursor=cursor,
                    render=lambda rows: [vendor_dict(vendor) for vendor in rows])


@router.post("/items", response={201: dict}, summary="Create an item")
@idempotent(201)
def item_create(request: HttpRequest, payload: ItemIn) -> dict[str, Any]:
    item = services.item_create(user=request.user,
                                data=services.ItemInput(**payload.model_dump()))
    return item_dict(item)


@router.get("/items", response=dict, summary="Search items by SKU, barcode or description")
def item_list(request: HttpRequest, q: str = "", limit: QueryInt | None = None,
              cursor: str | None = None) -> dict[str, Any]:
    return paginate(item_search(q).prefetch_related("barcodes"), keys=[("sku", False)],
                    limit=limit, cursor=cursor, render=items_dicts)


@router.get("/items/{sku}", response=dict, summary="An item with its quantity buckets")
def item_detail(request: HttpRequest, sku: str) -> dict[str, Any]:
    return item_dict(item_get(sku))


@router.post("/items/{sku}/adjustments", response=dict, summary="Adjust an item's stock")
@idempotent(200)
def item_adjust(request: HttpRequest, sku: str, payload: AdjustmentIn) -> dict[str, Any]:
    item = services.item_adjust_stock(user=request.user, sku=sku, quantity=payload.quantity,
                                      reason=payload.reason)
    return item_dict(item_get(item.sku))

"""The replayed store's catalog: vendors, items and their stock policy.

A first pass over the replayed rows (`survey`) collects, per stock code,
its description, its usual price and its demand; `catalog_build` then
creates the vendors and items through the catalog services and counts in
each item's opening stock.
"""

import datetime
import math
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from tqdm import tqdm

from backroom.catalog.models import Item, Vendor
from backroom.catalog.services import ItemInput, items_count_in, items_create, vendor_create
from backroom.core.money import round_money
from backroom.replay.source import Invoice, is_product_code
from backroom.replay.upserts import item_upsert
from backroom.replay.users import REPLAY_USERNAME
from backroom.sales.models import Order

# (code, name, lead time in days): twenty made-up gift-ware suppliers.
VENDORS = (
    ("HGS", "Harbour Gift Supply", 5), ("NCW", "Northcote Ceramics Works", 10),
    ("PLP", "Paper Lantern Press", 7), ("TWT", "Thistle & Wool Textiles", 12),
    ("BCH", "Brass Candle House", 6), ("RKT", "Red Kite Toys", 9),
    ("MGL", "Marlow Glassware", 14), ("OKC", "Oak & Cotton Homeware", 8),
    ("SLS", "Sea Lavender Soaps", 4), ("BWP", "Bluebell Wrapping Papers", 3),
    ("FTM", "Fenland Tin Merchants", 11), ("KBJ", "Kingfisher Bags & Jute", 7),
    ("PVC", "Poppy Vintage Crafts", 6), ("AMW", "Ashdown Metalwork", 13),
    ("CHK", "Copperhill Kitchenware", 8), ("LGD", "Linden Garden Decor", 10),
    ("SPS", "Starling Party Supplies", 5), ("WCL", "Willow Clock Co", 12),
    ("HBC", "Hazel Baby & Child", 9), ("QPS", "Quayside Photo & Stationery", 4),
)
COST_FRACTION = Decimal("0.5")
# Lines above this many units are one-off wholesale deals: they count at this
# size in the demand estimate, so they do not set the shelf for a whole year.
DEMAND_LINE_CAP = 1000
# The buyer orders twice a week, so a reorder point covers the vendor's lead
# time plus half a week of demand.
REVIEW_DAYS = 3.5
OPENING_REASON = "Opening stock count"


@dataclass
class CodeSurvey:
    """What the replayed rows say about one stock code."""

    code: str
    description: str = ""
    prices: Counter = field(default_factory=Counter)
    units: int = 0
    first_day: int | None = None
    last_day: int | None = None

    @property
    def usual_price(self) -> Decimal:
        """The most frequent positive sale price; the first seen wins a tie."""
        if not self.prices:
            return Decimal("0.00")
        return self.prices.most_common(1)[0][0]

    def weekly_demand(self) -> float:
        if self.first_day is None or self.last_day is None or not self.units:
            return 0.0
        weeks = (self.last_day - self.first_day + 7) / 7
        return self.units / weeks


@dataclass
class Survey:
    """Counts of the replayed rows and the stock codes they use."""

    codes: dict[str, CodeSurvey] = field(default_factory=dict)
    rows: int = 0
    invoices: int = 0
    first_at: datetime.datetime | None = None
    last_at: datetime.datetime | None = None


def survey(invoices: Iterable[Invoice]) -> Survey:
    """Read the invoices once and collect each stock code's description, price and demand.

    Rows with quantity 0 are counted but add nothing to their stock code, because the
    replay rejects them. A code whose rows all have quantity 0 becomes no item.
    """
    result = Survey()
    for invoice in invoices:
        result.invoices += 1
        result.first_at = result.first_at or invoice.at
        result.last_at = invoice.at
        for row in invoice.rows:
            result.rows += 1
            if not row.quantity:
                continue
            code = result.codes.get(row.stock_code)
            if code is None:
                code = result.codes[row.stock_code] = CodeSurvey(row.stock_code)
            if not code.description and row.description:
                code.description = row.description
            if invoice.kind != "sale" or row.quantity <= 0 or row.unit_price <= 0:
                continue
            day = row.at.toordinal()
            code.prices[row.unit_price] += 1
            code.units += min(row.quantity, DEMAND_LINE_CAP)
            code.first_day = day if code.first_day is None else code.first_day
            code.last_day = day
    return result


def vendor_for(code: str) -> tuple[str, str, int]:
    """Assign a stock code to one of the vendors by a CRC-32 of its five-digit base.

    Variants of one product (85123A, 85123B) share the base, so they come
    from the same vendor. CRC-32 is stable across runs and machines.
    """
    return VENDORS[zlib.crc32(code[:5].encode()) % len(VENDORS)]


@dataclass(frozen=True)
class StockPolicy:
    reorder_point: int
    reorder_quantity: int
    opening_stock: int


def stock_policy(code: CodeSurvey, lead_time_days: int) -> StockPolicy:
    """Reorder point: demand over the lead time plus half a week; reorder quantity: two
    weeks of demand; opening stock: both together."""
    weekly = code.weekly_demand()
    if weekly == 0:
        return StockPolicy(0, 0, 0)
    reorder_point = math.ceil(weekly * (lead_time_days + REVIEW_DAYS) / 7)
    reorder_quantity = math.ceil(2 * weekly)
    return StockPolicy(reorder_point, reorder_quantity, reorder_point + reorder_quantity)


def item_values(code: CodeSurvey) -> dict:
    """Return the import values of the item for a stock code (a charge when not a product)."""
    description = code.description or f"Stock code {code.code}"
    price = code.usual_price
    values: dict = {"sku": code.code, "description": description, "price": price,
                    "cost": round_money(price * COST_FRACTION), "taxable": False}
    if not is_product_code(code.code):
        values.update(tracked=False, category="Charges")
        return values
    vendor_code, _, lead_time = vendor_for(code.code)
    policy = stock_policy(code, lead_time)
    values.update(tracked=True, vendor=vendor_code, vendor_sku=code.code,
                  reorder_point=policy.reorder_point,
                  reorder_quantity=policy.reorder_quantity)
    return values


@dataclass
class CatalogResult:
    vendors_created: int = 0
    items: Counter = field(default_factory=Counter)
    charges: int = 0
    opening_units: int = 0


# The advice that ends each rejection of the store.
OWN_DATABASE = ("Replay into a database of its own: set BACKROOM_HOME to a new folder (or "
                "DATABASE_URL to a new database), run `backroom init`, then replay there.")


def store_rejection_reason(found: Survey) -> str | None:
    """Return why this store cannot take the surveyed replay, or None when it can.

    The replay builds its own catalog and books a year of orders. It rejects a
    store with orders that no earlier replay made, and stock codes that the
    store already keeps as the other kind (a stocked item where the replay
    needs a charge, or the reverse).
    """
    # The replay signs its orders as its own user, so any other order is not the replay's:
    # a demo store, or orders taken at the counter before or between runs.
    others = Order.objects.exclude(created_by__username=REPLAY_USERNAME)
    count = others.count()
    if count:
        first = others.order_by("pk").values("number", "created_by__username").first()
        assert first is not None
        by = first["created_by__username"] or "no user"
        orders = "1 order" if count == 1 else f"{count:,} orders"
        return (f"This store already has {orders} that no replay made (the first is order "
                f"{first['number']}, created by {by}). {OWN_DATABASE}")
    kinds = {code.code: is_product_code(code.code) for code in found.codes.values()}
    clashes = sorted(sku for sku, tracked in Item.objects.filter(sku__in=kinds)
                     .values_list("sku", "tracked") if tracked != kinds[sku])
    if clashes:
        listed = ", ".join(clashes[:5])
        if len(clashes) > 5:
            listed += f" and {len(clashes) - 5} more"
        return (f"The store already has items {listed}, of another kind than the replay makes "
                f"them (stocked item or charge). {OWN_DATABASE}")
    return None


def catalog_build(user, found: Survey, progress: bool = True,
                  opening_stock: bool = True) -> CatalogResult:
    """Create the vendors and items of the survey; count opening stock into new items
    unless `opening_stock` is off."""
    result = CatalogResult()
    existing_vendors = set(Vendor.objects.values_list("code", flat=True))
    for code, name, lead_time in VENDORS:
        if code not in existing_vendors:
            vendor_create(user=user, code=code, name=name, lead_time_days=lead_time)
            result.vendors_created += 1

    existing_items = set(Item.objects.values_list("sku", flat=True))
    new_items: list[ItemInput] = []
    opening: dict[str, int] = {}
    for code in tqdm(sorted(found.codes.values(), key=lambda entry: entry.code),
                     desc="catalog", unit="item", disable=not progress):
        values = item_values(code)
        if not values["tracked"]:
            result.charges += 1
        if code.code in existing_items:
            result.items[item_upsert(user=user, values=values)] += 1
            continue
        new_items.append(ItemInput(**values))
        result.items["created"] += 1
        _, _, lead_time = vendor_for(code.code)
        units = stock_policy(code, lead_time).opening_stock
        if opening_stock and values["tracked"] and units:
            opening[code.code] = units
            result.opening_units += units
    # New items go in with one statement per table, and their opening stock in one count.
    items_create(user=user, inputs=new_items)
    if opening:
        items_count_in(user=user, counts=opening, reason=OPENING_REASON)
    return result

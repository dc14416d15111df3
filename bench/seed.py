"""Seeding a benchmark database with many order lines through plain SQL inserts.

The rows keep the engine's rules: each line's buckets add up, each
back-ordered unit has one live purchase request, each order's status and
totals match its lines and payments. Seeding through the services would take
hours at a million lines; the services are what the benchmarks then time.
"""

from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

BATCH = 5000
STOCK_ITEMS = 200
CUSTOMERS = 1000


def _insert(table: str, columns: list[str], rows: list[tuple]) -> None:
    placeholders = ", ".join(["%s"] * len(columns))
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(statement, rows[start:start + BATCH])


ORDER_COLUMNS = ["id", "number", "type", "customer_id", "status", "subtotal", "tax", "total",
                 "paid", "priority", "note", "created_at", "finalized_at", "created_by_id"]
LINE_COLUMNS = ["id", "order_id", "position", "item_id", "description", "quantity",
                "unit_price", "discount_percent", "taxable", "tax_rate", "take_now", "pending",
                "delivered", "ready", "back_ordered", "cancelled", "line_total", "tax",
                "created_at"]
REQUEST_COLUMNS = ["item_id", "vendor_id", "quantity", "served", "order_line_id", "order_id",
                   "customer_id", "status", "po_line_id", "needs_ordering", "created_at",
                   "updated_at"]


class Seeder:
    def __init__(self, user_id: int, vendor_id: int, customers: list[int]) -> None:
        self.now = connection.ops.adapt_datetimefield_value(timezone.now())
        self.user_id = user_id
        self.vendor_id = vendor_id
        self.customers = customers
        self.orders: list[tuple] = []
        self.lines: list[tuple] = []
        self.requests: list[tuple] = []
        self.order_id = 0
        self.line_id = 0

    def order(self, status: str, lines: list[tuple[int, int]],
              po_line: int | None = None) -> None:
        """Add an order whose lines are (item id, back-ordered units of one unit each)."""
        self.order_id += 1
        customer = self.customers[self.order_id % len(self.customers)]
        total = f"{len(lines)}.00"
        self.orders.append((self.order_id, f"S{self.order_id}", "sales_order", customer,
                            status, total, "0", total, total, 0, "", self.now, self.now,
                            self.user_id))
        for position, (item_id, back_ordered) in enumerate(lines, start=1):
            self.line_id += 1
            self.lines.append((self.line_id, self.order_id, position, item_id, "seeded", 1,
                               "1.00", "0", False, "0", False, 0, 1 - back_ordered, 0,
                               back_ordered, 0, "1.00", "0", self.now))
            if back_ordered:
                self.requests.append((item_id, self.vendor_id, 1, 0, self.line_id,
                                      self.order_id, customer,
                                      "on_order" if po_line else "open", po_line, False,
                                      self.now, self.now))

    def flush(self) -> None:
        from backroom.purchasing.models import PurchaseRequest
        from backroom.sales.models import Order, OrderLine

        _insert("sales_order", ORDER_COLUMNS, self.orders)
        _insert("sales_orderline", LINE_COLUMNS, self.lines)
        _insert("purchasing_purchaserequest", REQUEST_COLUMNS, self.requests)
        payments = [(order[0], "payment", "card", order[8], order[8], "0", "0", "", "",
                     self.now, self.user_id) for order in self.orders]
        _insert("sales_payment", ["order_id", "kind", "tender", "amount", "received",
                                  "change_given", "credit_amount", "reference", "reason",
                                  "created_at", "user_id"], payments)
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(
                    no_style(), [Order, OrderLine, PurchaseRequest]):
                cursor.execute(statement)


def seed_store(size: int, per_order: int, waiting_one_in: int, receipt_requests: int,
               receipt_items: int) -> dict:
    """Seed about `size` order lines plus the receipt test data; return what the
    benchmark needs: the user, a customer, stock SKUs, receipt PO lines and a token."""
    from decimal import Decimal

    from backroom.accounts.services import roles_ensure, token_create, user_create
    from backroom.catalog.models import Item, Vendor
    from backroom.core.models import StoreSettings
    from backroom.customers.models import Customer
    from backroom.purchasing.models import PurchaseOrder, PurchaseOrderLine

    roles_ensure()
    StoreSettings.load()
    user = user_create(username="bench", role="owner", password="bench-Pass-2026")
    vendor = Vendor.objects.create(code="SV", name="Scale vendor", lead_time_days=5)
    Item.objects.bulk_create([
        Item(sku=f"S{number:04d}", description=f"stock item {number}", price=Decimal("1.00"),
             vendor=vendor, on_hand=1_000_000, taxable=False) for number in range(STOCK_ITEMS)])
    stock_ids = list(Item.objects.order_by("pk").values_list("pk", flat=True))
    customers = Customer.objects.bulk_create(
        [Customer(name=f"Customer {number}") for number in range(CUSTOMERS)])

    with transaction.atomic():
        seeder = Seeder(user.pk, vendor.pk, [customer.pk for customer in customers])
        for index in range(size // per_order):
            waiting = index % waiting_one_in == 0
            lines = [(stock_ids[(index + position) % len(stock_ids)],
                      1 if waiting and position == 0 else 0) for position in range(per_order)]
            seeder.order("waiting" if waiting else "delivered", lines)
        receipt_lines = []
        for number in range(receipt_items):
            item = Item.objects.create(sku=f"R{number}", description=f"receipt item {number}",
                                       price=Decimal("1.00"), vendor=vendor, taxable=False)
            po = PurchaseOrder.objects.create(number=f"PO-S{number}", vendor=vendor,
                                              status="submitted")
            po_line = PurchaseOrderLine.objects.create(purchase_order=po, item=item,
                                                       quantity=receipt_requests, cost=0)
            for _ in range(receipt_requests):
                seeder.order("waiting", [(item.pk, 1)], po_line=po_line.pk)
            receipt_lines.append((po.number, po_line.pk))
        seeder.flush()
    return {"user": user, "customer": customers[0].pk, "lines": seeder.line_id,
            "stock_skus": [f"S{number:04d}" for number in range(STOCK_ITEMS)],
            "receipt_lines": receipt_lines, "token": token_create(user=user)[1]}

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from backroom.catalog.models import Item
from backroom.customers.models import Customer


class OrderType(models.TextChoices):
    SALE = "sale", "Sale"
    SALES_ORDER = "sales_order", "Sales order"
    SPECIAL_ORDER = "special_order", "Special order"
    LAYAWAY = "layaway", "Layaway"
    CUSTOM_ORDER = "custom_order", "Custom order"


class OrderStatus(models.TextChoices):
    ON_HOLD = "on_hold", "On hold"
    WAITING = "waiting", "Waiting"
    READY = "ready", "Ready"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


class Order(models.Model):
    """One sale transaction at the counter.

    `status`, the money totals and `paid` are a cache of what the lines and
    payments say. Only `sales.totals.order_sync` writes them, from the
    buckets, in the same transaction as the change, so lists can filter and
    sort on an index.
    """

    number = models.CharField(max_length=20, unique=True)
    type = models.CharField(max_length=20, choices=OrderType.choices)
    # Leads the (customer, -id) index below.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders",
                                 db_index=False)
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.ON_HOLD)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    tax = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    paid = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    priority = models.IntegerField(
        default=0, help_text="Higher goes first when received goods are shared out.")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    # No index: no query looks orders up by their creator, and users are never deleted.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", db_index=False)

    class Meta:
        indexes = [
            models.Index(fields=["status", "-id"]),
            models.Index(fields=["customer", "-id"]),
            models.Index(fields=["type", "status", "-id"]),
        ]

    def __str__(self) -> str:
        return f"Order {self.number}"

    @property
    def balance(self):
        return self.total - self.paid


class LineStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    WAITING = "waiting", "Waiting"
    READY = "ready", "Ready"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


class OrderLine(models.Model):
    """One item on an order, with its quantity split into buckets.

    quantity = pending + delivered + ready + back_ordered + cancelled, where
    `pending` counts the units of an order on hold, not yet decided.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    # Leads the (item, order) index below.
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="order_lines",
                             db_index=False)
    description = models.CharField(max_length=300)
    quantity = models.IntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    taxable = models.BooleanField(default=True)
    tax_rate = models.DecimalField(max_digits=6, decimal_places=3, default=0)
    take_now = models.BooleanField(default=False)
    pending = models.IntegerField(default=0)
    delivered = models.IntegerField(default=0)
    ready = models.IntegerField(default=0)
    back_ordered = models.IntegerField(default=0)
    cancelled = models.IntegerField(default=0)
    line_total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    tax = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["order_id", "position"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(pending__gte=0, delivered__gte=0, ready__gte=0,
                            back_ordered__gte=0, cancelled__gte=0),
                name="line_buckets_not_negative"),
            models.CheckConstraint(
                condition=Q(quantity=F("pending") + F("delivered") + F("ready")
                            + F("back_ordered") + F("cancelled")),
                name="line_buckets_add_up"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100),
                name="line_discount_range"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="line_price_not_negative"),
        ]
        indexes = [
            models.Index(fields=["item", "order"]),
            models.Index(
                fields=["order"], condition=Q(back_ordered__gt=0), name="line_back_ordered_idx"),
            # The waiting list reads back-ordered lines newest first and stops at a page.
            models.Index(
                fields=["id"], condition=Q(back_ordered__gt=0), name="line_back_ordered_id_idx"),
            models.Index(fields=["order"], condition=Q(ready__gt=0), name="line_ready_idx"),
        ]

    @property
    def status(self) -> str:
        from backroom.sales.totals import line_status

        return line_status(self)


class PaymentKind(models.TextChoices):
    PAYMENT = "payment", "Payment"
    REFUND = "refund", "Refund"


class Tender(models.TextChoices):
    CASH = "cash", "Cash"
    CARD = "card", "Card"
    CHECK = "check", "Check"
    STORE_CREDIT = "store_credit", "Store credit"
    OTHER = "other", "Other"


class Payment(models.Model):
    """Money taken for an order, or given back (kind=refund).

    `amount` is what counts towards the order. `received` is what went into
    (or, for a refund, out of) the till: it differs from `amount` by the cash
    rounding. `credit_amount` is the part of a payment put on the customer's
    store credit instead of the order.
    """

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=10, choices=PaymentKind.choices)
    tender = models.CharField(max_length=20, choices=Tender.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    received = models.DecimalField(max_digits=12, decimal_places=2)
    change_given = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    credit_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    reference = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    # Payments are read by order alone, and neither payments nor users are ever
    # deleted, so these columns have no index that each payment would have to write.
    refund_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds",
        db_index=False)
    created_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", db_index=False)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", db_index=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(received__gte=0), name="payment_received_not_negative"),
            models.CheckConstraint(
                condition=Q(credit_amount__gte=0), name="payment_credit_not_negative"),
        ]

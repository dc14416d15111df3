from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from backroom.catalog.models import Item, Vendor
from backroom.customers.models import Customer
from backroom.sales.models import Order, OrderLine


class RequestStatus(models.TextChoices):
    OPEN = "open", "Open"
    ON_ORDER = "on_order", "On order"
    FULFILLED = "fulfilled", "Fulfilled"
    CANCELLED = "cancelled", "Cancelled"


class PurchaseRequest(models.Model):
    """A need to buy `quantity` units: for an order line, or for stock.

    `quantity` is what is still needed; it shrinks as units are served or
    cancelled, and `served` counts the units that reached the line. While
    open or on order, the customer requests of a line cover exactly its
    back-ordered units.
    """

    # item and vendor lead indexes in Meta.indexes; an index of their own would only
    # add writes.
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="purchase_requests",
                             db_index=False)
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="purchase_requests",
        db_index=False)
    quantity = models.IntegerField()
    served = models.IntegerField(default=0)
    order_line = models.ForeignKey(
        OrderLine, null=True, blank=True, on_delete=models.PROTECT,
        related_name="purchase_requests")
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="purchase_requests")
    # No index: requests are looked up by order, line, item or vendor, never by customer,
    # and customers are never deleted.
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_index=False)
    status = models.CharField(
        max_length=20, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    po_line = models.ForeignKey(
        "PurchaseOrderLine", null=True, blank=True, on_delete=models.PROTECT,
        related_name="requests")
    needs_ordering = models.BooleanField(
        default=False, help_text="Its purchase order was cancelled or closed short.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="request_quantity"),
            models.CheckConstraint(condition=Q(served__gte=0), name="request_served"),
            models.CheckConstraint(
                condition=(Q(status="on_order", po_line__isnull=False)
                           | Q(status="open", po_line__isnull=True)
                           | Q(status__in=["fulfilled", "cancelled"])),
                name="request_on_order_has_po_line"),
            models.UniqueConstraint(
                fields=["order_line"], condition=Q(status="open"),
                name="request_one_open_per_line"),
        ]
        indexes = [
            models.Index(fields=["item", "status"]),
            models.Index(fields=["vendor", "status"]),
            models.Index(fields=["status", "-id"]),
        ]


class POStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    PARTIALLY_RECEIVED = "partially_received", "Partially received"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


class PurchaseOrder(models.Model):
    number = models.CharField(max_length=20, unique=True)
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="purchase_orders")
    status = models.CharField(max_length=20, choices=POStatus.choices, default=POStatus.DRAFT)
    expected_date = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+")

    class Meta:
        indexes = [models.Index(fields=["status", "-id"])]


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    # Leads the (item, purchase_order) index below.
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="po_lines",
                             db_index=False)
    quantity = models.IntegerField()
    received = models.IntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=2)
    closed_short = models.BooleanField(default=False)
    cancelled = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="po_line_quantity"),
            models.CheckConstraint(condition=Q(received__gte=0), name="po_line_received"),
            models.CheckConstraint(condition=Q(cost__gte=0), name="po_line_cost"),
        ]
        indexes = [models.Index(fields=["item", "purchase_order"])]

    @property
    def open_quantity(self) -> int:
        if self.closed_short or self.cancelled:
            return 0
        return max(self.quantity - self.received, 0)


class Receipt(models.Model):
    number = models.CharField(max_length=20, unique=True)
    purchase_order = models.ForeignKey(
        PurchaseOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="receipts")
    created_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+")


class ReceiptLine(models.Model):
    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines")
    po_line = models.ForeignKey(
        PurchaseOrderLine, null=True, blank=True, on_delete=models.PROTECT,
        related_name="receipt_lines")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    quantity = models.IntegerField()
    closed_short = models.BooleanField(default=False)


class ReceivingNotice(models.Model):
    """"N x item is for customer C, order #": units set aside for a waiting line."""

    receipt = models.ForeignKey(
        Receipt, null=True, blank=True, on_delete=models.CASCADE, related_name="notices")
    source = models.CharField(max_length=30, default="receipt")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="receiving_notices")
    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    quantity = models.IntegerField()
    order_status = models.CharField(max_length=20)
    # No index: notices are listed by receipt, never by time.
    created_at = models.DateTimeField(default=timezone.now)

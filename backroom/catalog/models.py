from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Vendor(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    lead_time_days = models.PositiveIntegerField(default=7)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Item(models.Model):
    """A catalog product with its physical stock counters.

    `on_hand` counts units in the store; `reserved` counts the units set aside
    for order lines (the sum of their `ready` buckets). Both change only in
    services that hold this row's lock. Untracked items (services, charges)
    keep both at zero and are never back-ordered.
    """

    sku = models.CharField(max_length=40, unique=True)
    description = models.CharField(max_length=300)
    category = models.CharField(max_length=100, blank=True)
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="items")
    vendor_sku = models.CharField(max_length=60, blank=True)
    cost = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    taxable = models.BooleanField(default=True)
    tracked = models.BooleanField(default=True)
    reorder_point = models.PositiveIntegerField(default=0)
    reorder_quantity = models.PositiveIntegerField(default=0)
    is_custom = models.BooleanField(
        default=False, help_text="A made-to-order piece created from a custom-order line.")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="item_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="item_reserved_not_negative"),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="item_reserved_within_on_hand"),
            models.CheckConstraint(condition=Q(price__gte=0), name="item_price_not_negative"),
            models.CheckConstraint(condition=Q(cost__gte=0), name="item_cost_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.description}"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class Barcode(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="barcodes")
    code = models.CharField(max_length=64, unique=True)


class StockAdjustment(models.Model):
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="adjustments")
    quantity = models.IntegerField()
    reason = models.CharField(max_length=200)
    on_hand_before = models.IntegerField()
    on_hand_after = models.IntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

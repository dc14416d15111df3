from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from backroom.core.sql import model_rows


class StoreSettings(models.Model):
    """The store's settings: a single row with primary key 1."""

    currency = models.CharField(max_length=3, default="USD")
    deposit_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("25"))
    minimum_deposit_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("25"))
    tax_rate = models.DecimalField(max_digits=6, decimal_places=3, default=Decimal("0"))
    cash_rounding = models.DecimalField(max_digits=4, decimal_places=2, default=Decimal("0"))
    over_receipt_tolerance_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("0"))
    ready_reminder_days = models.PositiveIntegerField(default=7)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="store_settings_single_row"),
            models.CheckConstraint(
                condition=Q(deposit_percent__gte=0, deposit_percent__lte=100),
                name="store_settings_deposit_percent_range"),
            models.CheckConstraint(
                condition=Q(minimum_deposit_percent__gte=0, minimum_deposit_percent__lte=100),
                name="store_settings_minimum_deposit_range"),
            models.CheckConstraint(condition=Q(tax_rate__gte=0), name="store_settings_tax_rate"),
            models.CheckConstraint(
                condition=Q(cash_rounding__gte=0), name="store_settings_cash_rounding"),
            models.CheckConstraint(
                condition=Q(over_receipt_tolerance_percent__gte=0),
                name="store_settings_tolerance"),
        ]

    @classmethod
    def load(cls) -> "StoreSettings":
        """Return the settings row, creating it with the defaults on first use."""
        # Nearly every service call reads the settings, so the SELECT is built once.
        found = model_rows(cls, '"id" = 1', [])
        if found:
            return found[0]
        store, _ = cls.objects.get_or_create(pk=1)
        return store


class Event(models.Model):
    """One audit record: who changed what, when, with quantities before and after."""

    # No index on the time or the user: no query looks events up by either, and an
    # index costs each of the many events a write. Users are never deleted.
    at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", db_index=False)
    action = models.CharField(max_length=60)
    # order, item and purchase_order lead the indexes in Meta: an index of their own
    # would cost every event three more writes and serve no query.
    order = models.ForeignKey(
        "sales.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="events",
        db_index=False)
    item = models.ForeignKey(
        "catalog.Item", null=True, blank=True, on_delete=models.CASCADE, related_name="events",
        db_index=False)
    purchase_order = models.ForeignKey(
        "purchasing.PurchaseOrder", null=True, blank=True, on_delete=models.CASCADE,
        related_name="events", db_index=False)
    detail = models.JSONField(default=dict)

    class Meta:
        # Most events name no purchase order, and some no order or item. The indexes
        # leave those events out, because every query gives the key it looks for.
        indexes = [
            models.Index(fields=["order", "id"], name="event_order_idx",
                         condition=models.Q(order__isnull=False)),
            models.Index(fields=["item", "id"], name="event_item_idx",
                         condition=models.Q(item__isnull=False)),
            models.Index(fields=["purchase_order", "id"], name="event_purchase_order_idx",
                         condition=models.Q(purchase_order__isnull=False)),
        ]


class IdempotencyKey(models.Model):
    """The stored first response of a POST sent with an Idempotency-Key header."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    body_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique"),
        ]

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Customer(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True, db_index=True)
    phone = models.CharField(max_length=40, blank=True)
    notify = models.BooleanField(
        default=True, help_text="The customer agreed to be e-mailed about their orders.")
    external_id = models.CharField(max_length=60, blank=True, db_index=True)
    store_credit = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    is_walk_in = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(store_credit__gte=0), name="customer_store_credit_not_negative"),
            models.UniqueConstraint(
                fields=["is_walk_in"], condition=Q(is_walk_in=True),
                name="customer_single_walk_in"),
        ]

    def __str__(self) -> str:
        return self.name


class StoreCreditEntry(models.Model):
    """One movement of a customer's store credit; the balance is on Customer."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credit_entries")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    balance_after = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.CharField(max_length=200)
    order = models.ForeignKey(
        "sales.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

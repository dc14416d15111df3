import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone

# Permissions a role or a single user can hold, as (codename, description).
PERMISSIONS = [
    ("override_deposit", "Take less than the store's minimum deposit"),
    ("void", "Void orders and payments"),
    ("refund", "Refund payments"),
    ("deliver_with_balance", "Hand over goods without collecting the amount due"),
    ("bulk_deliver", "Hand over several orders at once"),
    ("manage_purchasing", "Create, submit and cancel purchase orders"),
    ("receive", "Receive goods"),
    ("adjust_stock", "Adjust stock quantities"),
    ("manage_catalog", "Create and edit items and vendors"),
    ("manage_users", "Create users, set roles, permissions and API tokens"),
    ("view_reports", "See reports"),
    ("change_price", "Change a line's price or discount"),
    ("manage_settings", "Change the store settings"),
    ("set_priority", "Raise an order's priority when received goods are shared out"),
]

ROLES = ["owner", "manager", "supervisor", "clerk"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    "owner": [code for code, _ in PERMISSIONS],
    "manager": [code for code, _ in PERMISSIONS],
    "supervisor": [
        "override_deposit", "void", "refund", "deliver_with_balance", "bulk_deliver",
        "receive", "adjust_stock", "view_reports", "change_price",
    ],
    "clerk": ["receive"],
}


class StorePermission(models.Model):
    """Carrier of the store's permissions; it has no table of its own."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = tuple(PERMISSIONS)


class ApiToken(models.Model):
    """A bearer token; only the SHA-256 digest of the secret is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    @staticmethod
    def digest_of(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

"""Changes to users that the accounts services do not offer yet.

NOTE: these writes belong in backroom.accounts.services. They live here
because that module has no per-user permissions, token revocation or
deactivation yet. Once it has, the screens should call those instead.
"""

from django.contrib.auth.models import Permission, User
from django.db import transaction
from django.utils import timezone

from backroom.accounts.models import PERMISSIONS, ApiToken
from backroom.accounts.permissions import require
from backroom.core.audit import AuditLog
from backroom.core.errors import NotFound, ValidationFailed

PERMISSION_CODES = [code for code, _ in PERMISSIONS]


@transaction.atomic
def user_permissions_set(*, user, target: User, codes: list[str]) -> User:
    """Set the permissions a user holds on top of their role."""
    require(user, "manage_users", "change a user's permissions")
    unknown = sorted(set(codes) - set(PERMISSION_CODES))
    if unknown:
        raise ValidationFailed(f"Unknown permission '{unknown[0]}'.", field="permissions")
    before = sorted(target.user_permissions.filter(
        content_type__app_label="accounts").values_list("codename", flat=True))
    target.user_permissions.set(Permission.objects.filter(
        content_type__app_label="accounts", codename__in=codes))
    audit = AuditLog(user)
    audit.add("user_permissions_changed", username=target.username, before=before,
              after=sorted(codes))
    audit.flush()
    return target


@transaction.atomic
def user_set_active(*, user, target: User, active: bool) -> User:
    require(user, "manage_users", "deactivate a user")
    if target.pk == user.pk and not active:
        raise ValidationFailed("You cannot deactivate yourself.", field="active")
    target.is_active = active
    target.save(update_fields=["is_active"])
    audit = AuditLog(user)
    audit.add("user_activated" if active else "user_deactivated", username=target.username)
    audit.flush()
    return target


@transaction.atomic
def token_revoke(*, user, token_id: int) -> ApiToken:
    require(user, "manage_users", "revoke an API token")
    token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
    if token is None:
        raise NotFound(f"API token {token_id} not found.", field="token")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit = AuditLog(user)
        audit.add("api_token_revoked", token=token.prefix, username=token.user.username)
        audit.flush()
    return token

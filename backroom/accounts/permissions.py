"""Permission checks used by every service that guards an action."""

from typing import Any

from backroom.core.errors import PermissionDenied


def has_permission(user: Any, permission: str) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.has_perm(f"accounts.{permission}"))


def require(user: Any, permission: str, action: str) -> None:
    """Raise PermissionDenied unless the user holds the permission."""
    if not has_permission(user, permission):
        raise PermissionDenied(permission, action)

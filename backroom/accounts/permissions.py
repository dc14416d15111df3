"""Permission checks used by every service that guards an action."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from backroom.core.errors import PermissionDenied

# The manager who signed in to approve one guarded action, with that permission.
_approval: ContextVar[tuple[Any, str] | None] = ContextVar("approval", default=None)


@contextmanager
def approved_by(approver: Any, permission: str) -> Iterator[None]:
    """Let the acting user do what `permission` guards, on the approver's authority.

    The services still run as the acting user, so the audit trail names who
    did the work; only a check of this one permission also consults the approver.
    """
    token = _approval.set((approver, permission))
    try:
        yield
    finally:
        _approval.reset(token)


def _holds(user: Any, permission: str) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.has_perm(f"accounts.{permission}"))


def has_permission(user: Any, permission: str) -> bool:
    if _holds(user, permission):
        return True
    approval = _approval.get()
    return approval is not None and approval[1] == permission and _holds(approval[0],
                                                                         permission)


def require(user: Any, permission: str, action: str) -> None:
    """Raise PermissionDenied unless the user has the permission."""
    if not has_permission(user, permission):
        raise PermissionDenied(permission, action)

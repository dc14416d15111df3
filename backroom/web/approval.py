"""Manager approval for guarded actions.

When a service raises PermissionDenied, the screen prompts a manager to
sign in for that one action: their password is checked and they must hold
the permission. The service then runs as the signed-in user, with the
manager's authority for that one permission, so the audit trail names who
did the work. The approval is written to the audit trail in the same
transaction, so it exists only if the action succeeded. The manager's
session is never started.
"""

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth import authenticate
from django.db import DatabaseError, InterfaceError, transaction
from django.http import HttpRequest

from backroom.accounts.models import PERMISSIONS
from backroom.accounts.permissions import approved_by, has_permission
from backroom.core.audit import AuditLog
from backroom.core.errors import BackroomError, PermissionDenied, database_error_as
from backroom.web.forms import Approval, FormState

logger = logging.getLogger(__name__)

Result = TypeVar("Result")

# Errors that mean "a manager may allow this": the services raise them, rather
# than PermissionDenied, when the user lacks the permission that would allow it.
APPROVABLE_CODES = {
    "deposit_below_minimum": "override_deposit",
    "balance_due": "deliver_with_balance",
}


def permission_text(permission: str) -> str:
    """Return the permission's description as a verb phrase, such as "refund payments"."""
    description = dict(PERMISSIONS).get(permission)
    if description is None:
        return f"use the '{permission}' permission"
    return description[0].lower() + description[1:]


def _approval_detail(error: BackroomError, permission: str) -> str:
    """Word a permission error for the clerk; other approvable errors keep their own text."""
    if isinstance(error, PermissionDenied):
        return (f"This needs a manager who may {permission_text(permission)}; "
                "ask one to approve it.")
    return error.detail


def approval_permission(error: BackroomError) -> str | None:
    """Return the permission a manager needs to allow what `error` refused, if any."""
    if isinstance(error, PermissionDenied):
        return str(error.data["permission"])
    if error.code == "balance_due" and "amount_due" not in error.data:
        return None  # A layaway must be paid in full; no permission overrides that.
    return APPROVABLE_CODES.get(error.code)


class ApprovalNeeded(Exception):
    def __init__(self, approval: Approval) -> None:
        super().__init__(approval.detail)
        self.approval = approval


def guarded(request: HttpRequest, action: str, call: Callable[[Any], Result],
            targets: Callable[[Result], dict[str, Any]] | None = None) -> Result:
    """Run `call(user)` as the signed-in user, or as the approving manager.

    `action` is the submit value that repeats the action from the prompt;
    `targets` returns the rows (order, item, purchase_order) the approval
    event belongs to.
    """
    username = request.POST.get("approver_username", "").strip()
    if not username:
        try:
            return _run(request, call, request.user)
        except BackroomError as error:
            permission = approval_permission(error)
            if permission is None:
                raise
            raise ApprovalNeeded(Approval(permission=permission,
                                          detail=_approval_detail(error, permission),
                                          action=action)) from None
    return _approved_call(request, action, username, call, targets)


def _run(request: HttpRequest, call: Callable[[Any], Result], user: Any) -> Result:
    """Call a service; a deadlock, lock timeout or race caught by a constraint becomes
    ConcurrentUpdate, so the screen offers a retry instead of failing. A lost database
    connection becomes DatabaseUnavailable, whose message tells to check before retrying."""
    try:
        return call(user)
    except (DatabaseError, InterfaceError) as error:
        response_error = database_error_as(error, screen=True)
        # %r escapes control characters, such as a NUL, that the address or the message
        # may contain.
        logger.warning("database error (%s) on %s %r by %s: %r", response_error.code,
                       request.method, request.path, user.get_username(), str(error))
        raise response_error from error


def _approved_call(request: HttpRequest, action: str, username: str,
                   call: Callable[[Any], Result],
                   targets: Callable[[Result], dict[str, Any]] | None) -> Result:
    permission = request.POST.get("approval_permission", "")
    prompt = Approval(permission=permission, action=action, username=username,
                      detail=f"A manager who may {permission_text(permission)} must approve this.")
    approver = authenticate(request, username=username,
                            password=request.POST.get("approver_password", ""))
    if approver is None:
        logger.info("approval by %s for %s rejected: wrong user name or password",
                    username, permission)
        prompt.error = "Wrong user name or password; try again."
        raise ApprovalNeeded(prompt)
    if not has_permission(approver, permission):
        prompt.error = (f"{username} may not {permission_text(permission)}; "
                        "ask a manager who may.")
        raise ApprovalNeeded(prompt)
    try:
        with transaction.atomic(), approved_by(approver, permission):
            result = _run(request, call, request.user)
            audit = AuditLog(approver)
            audit.add("approved_by", **(targets(result) if targets else {}),
                      permission=permission, approver=approver.get_username(),
                      requested_by=request.user.get_username())
            audit.flush()
    except PermissionDenied as denied:
        needed = str(denied.data["permission"])
        raise ApprovalNeeded(Approval(
            permission=needed, detail=_approval_detail(denied, needed), action=action,
            username=username)) from None
    logger.info("%s approved %s for %s", username, permission, request.user.get_username())
    return result


def attempt(request: HttpRequest, state: FormState, call: Callable[[Any], Result], *,
            targets: Callable[[Result], dict[str, Any]] | None = None,
            fields: dict[str, str] | None = None) -> Result | None:
    """Run a guarded call for a form; on failure put the error or approval prompt in `state`.

    `state.name` is the submit value that repeats the action from the prompt,
    and `fields` maps the service's field names to the form's inputs.
    """
    try:
        return guarded(request, state.name, call, targets)
    except ApprovalNeeded as needed:
        state.approval = needed.approval
    except BackroomError as error:
        state.show(error, fields)
    return None

"""The one error family of the service layer.

Every error carries a stable snake_case `code`, an HTTP status, a sentence for
people and the values involved. The API turns it into problem+json; the screens
show `detail` next to the form.
"""

from typing import Any

from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, OperationalError


class BackroomError(Exception):
    code = "error"
    status = 400
    title = "Request failed"

    def __init__(self, detail: str, *, field: str | None = None, **data: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.data = data

    @property
    def errors(self) -> list[dict[str, str]]:
        if self.field is None:
            return []
        return [{"field": self.field, "message": self.detail}]


class ValidationFailed(BackroomError):
    code = "validation_error"
    status = 422
    title = "Invalid input"

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None,
                 field: str | None = None, **data: Any) -> None:
        super().__init__(detail, field=field, **data)
        self._errors = errors

    @property
    def errors(self) -> list[dict[str, str]]:
        if self._errors is not None:
            return self._errors
        return super().errors


def reject_nul(**texts: str | None) -> None:
    """Raise ValidationFailed when a text contains a NUL character, which no database stores."""
    for field, text in texts.items():
        if text and "\x00" in text:
            raise ValidationFailed(
                f"The {field.replace('_', ' ')} contains a NUL character (\\u0000); remove it.",
                field=field)


def reject_repeated_lines(line_ids: list[int], units: str) -> None:
    """Raise ValidationFailed naming the first line id given a second time. `units`
    completes the message with what the line's units are for ("to hand over from it")."""
    given: set[int] = set()
    for index, line_id in enumerate(line_ids):
        if line_id in given:
            raise ValidationFailed(
                f"Line {line_id} is given twice. Give each line once, with all the units "
                f"{units}.", field=f"lines[{index}].id")
        given.add(line_id)


class NotFound(BackroomError):
    code = "not_found"
    status = 404
    title = "Not found"


class PermissionDenied(BackroomError):
    code = "permission_denied"
    status = 403
    title = "Permission denied"

    def __init__(self, permission: str, action: str) -> None:
        super().__init__(
            f"You need the '{permission}' permission to {action}; ask a manager to approve it.",
            permission=permission,
        )


class Conflict(BackroomError):
    """The request does not fit the current state of the records it touches."""

    code = "conflict"
    status = 409
    title = "Conflict with the current state"


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    title = "Not enough stock"


class DepositBelowMinimum(BackroomError):
    code = "deposit_below_minimum"
    status = 422
    title = "Deposit below the store minimum"


class PaymentExceedsBalance(Conflict):
    code = "payment_exceeds_balance"
    title = "Payment larger than the balance"


class RefundExceedsPaid(Conflict):
    code = "refund_exceeds_paid"
    title = "Refund larger than what was paid"


class OverReceipt(Conflict):
    code = "over_receipt"
    title = "More received than ordered"


class NothingToDeliver(Conflict):
    code = "nothing_to_deliver"
    title = "Nothing to hand over"


class BalanceDue(Conflict):
    code = "balance_due"
    title = "Balance due"


class InvalidState(Conflict):
    code = "invalid_state"
    title = "Not allowed in this state"


class ConcurrentUpdate(Conflict):
    code = "conflict"
    title = "Changed by someone else"

    def __init__(self, detail: str = "Another terminal changed the same records at the same "
                 "moment; nothing was saved. Please retry.") -> None:
        super().__init__(detail)


class DatabaseUnavailable(BackroomError):
    code = "database_unavailable"
    status = 503
    title = "Database connection lost"

    WRITE_DETAIL = ("The connection to the database was lost while this request ran, so the "
                    "change may or may not have been saved. Reload the record and check it "
                    "before you retry, or retry with the same Idempotency-Key.")
    READ_DETAIL = ("The connection to the database was lost while this request ran; nothing "
                   "was changed. Retry the request.")
    SCREEN_DETAIL = ("The connection to the database was lost, so a change you were saving may "
                     "or may not have been saved. Reload the page and check before you repeat "
                     "it.")

    def __init__(self, detail: str = WRITE_DETAIL) -> None:
        super().__init__(detail)


# SQLSTATE codes of PostgreSQL for a connection that the server ended or lost: class 08
# (connection exception) and 57P01 to 57P03 (administrator shutdown, crash shutdown,
# cannot connect now).
_CONNECTION_ENDED = ("57P01", "57P02", "57P03")


def database_error_as(error: DatabaseError | InterfaceError, *, reading: bool = False,
                      screen: bool = False) -> BackroomError:
    """Return the error to show for a database error.

    A value the database refused is invalid input. A lost connection becomes
    DatabaseUnavailable, because the transaction may have committed before the
    loss. A lock timeout, deadlock or race that a constraint caught becomes
    ConcurrentUpdate: it rolled back, so the request can be retried. A lost
    connection is described for a request that only reads (`reading`) or for a
    screen (`screen`), which has no Idempotency-Key to offer.
    """
    if isinstance(error, DataError):
        return ValidationFailed("A value is too long, too large or contains a character the "
                                "database cannot store; shorten or correct it.")
    if _connection_lost(error):
        if screen:
            return DatabaseUnavailable(DatabaseUnavailable.SCREEN_DETAIL)
        if reading:
            return DatabaseUnavailable(DatabaseUnavailable.READ_DETAIL)
        return DatabaseUnavailable()
    if isinstance(error, IntegrityError):
        return ConcurrentUpdate(
            "The change would break a stock or order rule, most likely because another "
            "terminal changed the same records at the same moment; nothing was saved. Reload "
            "and retry.")
    return ConcurrentUpdate()


def _connection_lost(error: DatabaseError | InterfaceError) -> bool:
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    driver_error = error.__cause__
    if type(driver_error).__module__.split(".")[0] != "psycopg":
        # SQLite's operational errors (a locked database) concern the file, not a link.
        return False
    sqlstate = getattr(driver_error, "sqlstate", None)
    # psycopg gives no SQLSTATE when the link failed on the client's side.
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _CONNECTION_ENDED


def shown(value: object, length: int = 20) -> str:
    """Return a value for a message, its start alone if it is long, so that a message never
    repeats a whole oversized input."""
    text = str(value)
    return text if len(text) <= length else text[:length] + "..."

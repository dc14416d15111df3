"""problem+json (RFC 9457) responses for every error the API returns."""

import logging
from typing import Any

from django.db import DatabaseError, DataError, InterfaceError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from ninja.errors import AuthenticationError, HttpError, ValidationError

from backroom.core.errors import BackroomError, DatabaseUnavailable, database_error_as

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem(status: int, code: str, title: str, detail: str,
            errors: list[dict[str, str]] | None = None, **extra: Any) -> HttpResponse:
    import json

    body = {
        "type": f"urn:backroom:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "errors": errors or [],
    }
    body.update(extra)
    return HttpResponse(json.dumps(body, default=str), status=status,
                        content_type=PROBLEM_CONTENT_TYPE)


def on_backroom_error(request: HttpRequest, error: BackroomError) -> HttpResponse:
    return problem(error.status, error.code, error.title, error.detail, error.errors,
                   **({"data": error.data} if error.data else {}))


def on_validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    errors = []
    for entry in error.errors:
        location = [str(part) for part in entry.get("loc", ()) if part not in ("body", "payload")]
        field = _field_path(location)
        if not field and entry.get("type") == "missing":
            errors.append({"field": "", "message": "The request has no body; send a JSON "
                                                   "object."})
            continue
        errors.append({"field": field, "message": _validation_message(entry)})
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    if first["field"]:
        detail = f"{first['field']}: {first['message']}"
    elif first["message"][:1].islower():
        detail = f"The request body {first['message']}"
    else:
        detail = first["message"]
    return problem(422, "validation_error", "Invalid input", detail, errors)


# Messages in the product's words for the validation errors a client meets most, by
# pydantic's error type, with the limits of its context. They follow the field's name;
# django-ninja drops the value sent from its errors.
VALIDATION_MESSAGES = {
    "missing": "is required; add it.",
    "extra_forbidden": "is not a field of this request; remove it or check its spelling.",
    "int_type": "is not a whole number; send a number such as 3, without quotes.",
    "int_parsing": "is not a whole number; send a number such as 3, without quotes.",
    "int_from_float": "is not a whole number; send a number such as 3.",
    "bool_type": "is not true or false; send true or false, without quotes.",
    "bool_parsing": "is not true or false; send true or false, without quotes.",
    "string_type": "is not text; send it in double quotes.",
    "greater_than_equal": "is too small; give {ge} or more.",
    "less_than_equal": "is too large; give at most {le}.",
    "string_too_long": "is longer than {max_length} characters; shorten it.",
    "list_type": "is not a list; send a JSON array, such as [...].",
    "model_type": "is not an object; send a JSON object, such as {{...}}.",
    "model_attributes_type": "is not an object; send a JSON object, such as {{...}}.",
    "dict_type": "is not an object; send a JSON object, such as {{...}}.",
    "string_too_short": "is shorter than {min_length} characters; give at least {min_length}.",
    "literal_error": "is not one of {expected}; give one of them.",
    "enum": "is not one of {expected}; give one of them.",
    "date_type": "is not a date; give one such as 2026-12-31.",
    "date_parsing": "is not a date; give one such as 2026-12-31.",
    "date_from_datetime_parsing": "is not a date; give one such as 2026-12-31.",
    "date_from_datetime_inexact": "is a date with a time; give the date alone, such as "
                                  "2026-12-31.",
    "string_unicode": "is not valid Unicode text (it holds a lone surrogate such as \\ud800); "
                      "send the text in UTF-8.",
}


def _validation_message(entry: dict[str, Any]) -> str:
    """Return the message of one pydantic error: the product's words where it has them,
    else pydantic's own."""
    kind = str(entry.get("type", ""))
    if kind == "string_too_short" and (entry.get("ctx") or {}).get("min_length") == 1:
        return "is empty; give a value."
    template = VALIDATION_MESSAGES.get(kind)
    if template is not None:
        try:
            return template.format(**(entry.get("ctx") or {}))
        except KeyError:
            pass  # a limit the template names is missing, so pydantic's message is used
    message = str(entry.get("msg", "invalid value"))
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return message


def _field_path(parts: list[str]) -> str:
    path = ""
    for part in parts:
        if part.isdigit():
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def on_authentication_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return problem(401, "unauthenticated", "Authentication required",
                   "Send a valid token as 'Authorization: Bearer <token>'; create one with "
                   "'backroom token create USERNAME'.")


def on_http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    if error.status_code == 400:
        return problem(400, "malformed_request", "Malformed request",
                       f"{error.message}: send a JSON object as the body, with the header "
                       "'Content-Type: application/json'.")
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "error")
    return problem(error.status_code, code, str(error.message), str(error.message))


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Return problem+json for an unknown /api/v1 path instead of an HTML page."""
    return problem(404, "not_found", "Not found",
                   f"No API endpoint at '{request.path}'; see /api/v1/docs for the list.")


def on_unencodable_text(request: HttpRequest, error: UnicodeEncodeError) -> HttpResponse:
    """Reject text that the database driver cannot encode, such as a lone UTF-16 surrogate.

    Fields that the schemas check reject it earlier. This catches the text that
    reaches a lookup, such as a SKU or a vendor code.
    """
    character = error.object[error.start:error.end]
    logger.warning("text not encodable as %s on %s %r: %r", error.encoding, request.method,
                   request.path, character)
    return problem(422, "validation_error", "Invalid input",
                   f"The text {error.object[:40]!r} contains {character!r}, which is not a "
                   "valid character; remove it.")


def on_database_error(request: HttpRequest, error: DatabaseError | InterfaceError) -> HttpResponse:
    """Turn a refused value into a 422, a lost connection into a 503, and lock timeouts,
    deadlocks and races that a constraint caught into a 409 to retry."""
    response_error = database_error_as(error, reading=request.method in ("GET", "HEAD"))
    # %r escapes control characters, such as a NUL, that the address or the message
    # may contain.
    if isinstance(error, DataError):
        # Bad input: retrying the same request cannot help.
        logger.warning("database rejected a value on %s %r: %r", request.method, request.path,
                       str(error))
    elif isinstance(response_error, DatabaseUnavailable):
        logger.error("database connection lost on %s %r: %r", request.method, request.path,
                     str(error))
    else:
        logger.warning("database conflict on %s %r: %r", request.method, request.path,
                       str(error))
    return on_backroom_error(request, response_error)

"""Requests handled before or around the views: text with a NUL character, an API body
too large to read, a method an API address does not take, a lost database connection
while a screen reads."""

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, InterfaceError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import resolve

from backroom.api.problems import PROBLEM_CONTENT_TYPE, not_found, problem
from backroom.core.errors import DatabaseUnavailable, database_error_as, shown
from backroom.web.views.common import page

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
NUL_RULE = "no text in Backroom may contain one; remove it."


class RejectNulCharacter:
    """Reject a request whose address, query or fields contain a NUL character, before
    any view reads them.

    No text in Backroom may contain one. PostgreSQL raises an error for a NUL
    in any statement parameter. On SQLite, a search for text with a NUL
    returned unrelated rows. The screens get a 400 page. The REST API gets a
    problem: 404 for an address (no record has such a key), 422 naming the
    query parameter or body field. Uploaded files are not checked, because
    they are read as data. An API body larger than Django reads into memory
    gets a 413 problem instead of Django's HTML page, a method that an API
    address does not take gets a 405 problem instead of an empty page, and a
    field given twice in one JSON object gets a 422 problem. A HEAD request is
    handled as GET and sent without the body.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            rejection = _api_rejection(request)
            if rejection is not None:
                return rejection
            if request.method == "HEAD":
                return _head_of(request, self.get_response)
            return _method_problem(request, self.get_response(request))
        if _screen_has_nul(request):
            return page(request, {}, "web/bad_text.html", status=400)
        return self.get_response(request)


def _head_of(request: HttpRequest,
             get_response: Callable[[HttpRequest], HttpResponse]) -> HttpResponse:
    """Handle a HEAD request as GET and return the response's headers without its body."""
    request.method = "GET"
    response = _method_problem(request, get_response(request))
    request.method = "HEAD"
    if not response.streaming:
        response["Content-Length"] = str(len(response.content))
        response.content = b""
    return response


# The documents of the API, which only GET reads.
READ_ONLY_PATHS = ("/api/v1/openapi.json", "/api/v1/docs")
# The API's own address, which is not a resource.
API_ROOT = "/api/v1/"


def _method_problem(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Return the API's plain 405 response as a problem that names the allowed methods."""
    if response.status_code != 405 or response.get("Content-Type") == PROBLEM_CONTENT_TYPE:
        return response
    allowed = sorted(method.strip() for method in response.get("Allow", "").split(",")
                     if method.strip())
    return _method_not_allowed(request, allowed)


def _method_not_allowed(request: HttpRequest, allowed: list[str]) -> HttpResponse:
    detail = f"{request.method} is not allowed on {request.path}"
    if allowed:
        detail += f"; use {' or '.join(allowed)}."
    else:
        detail += "."
    rejected = problem(405, "method_not_allowed", "Method not allowed", detail)
    if allowed:
        rejected["Allow"] = ", ".join(allowed)
    return rejected


def _screen_has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
        return True
    if request.method != "POST":
        return False
    return any("\x00" in name or any("\x00" in value for value in values)
               for name, values in request.POST.lists())


def _api_rejection(request: HttpRequest) -> HttpResponse | None:
    if request.path == API_ROOT:
        return not_found(request)
    if request.path in READ_ONLY_PATHS and request.method not in ("GET", "HEAD"):
        return _method_not_allowed(request, ["GET"])
    if "\x00" in request.path:
        return problem(404, "not_found", "Not found",
                       f"No record has an address with a NUL character (%00): {NUL_RULE}")
    query = request.META.get("QUERY_STRING", "")
    if "%00" in query:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                field = "query." + name.replace("\x00", "%00")
                return _nul_problem(field, f"contains a NUL character (%00): {NUL_RULE}")
    # The API reads every body as JSON, whatever its content type.
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    try:
        body = request.body
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        return problem(413, "request_too_large", "Request too large",
                       f"The request body is larger than {limit:,} bytes; send less in one "
                       "request, for example an order in two parts.")
    if not body:
        return None
    try:
        # json.loads finds the encoding of bytes itself (UTF-8, -16 or -32).
        data = json.loads(body, object_pairs_hook=_object_without_repeats)
    except RepeatedField as repeated:
        message = "is given more than once in one object; send each field once."
        return problem(422, "validation_error", "Invalid input", f"{repeated.field}: {message}",
                       [{"field": repeated.field, "message": message}])
    except ValueError as error:
        return _unreadable_body(request, error)
    except RecursionError:
        return _too_deep()
    if _deeper_than(data, MAX_JSON_DEPTH):
        return _too_deep()
    field = _nul_path(data, "")
    if field is None:
        return None
    return _nul_problem(field, f"contains a NUL character (\\u0000): {NUL_RULE}")


def _unreadable_body(request: HttpRequest, error: ValueError) -> HttpResponse | None:
    """Return a problem that explains why a body is not JSON. Return None for a form sent
    to the API and for an unknown address, which get their own responses later."""
    if request.content_type in FORM_TYPES or resolve(request.path_info).func is not_found:
        return None
    if isinstance(error, json.JSONDecodeError):
        detail = (f"The request body is not valid JSON: {error.msg.lower()} at line "
                  f"{error.lineno}, column {error.colno}; send a JSON object.")
    elif isinstance(error, UnicodeDecodeError):
        detail = "The request body is not UTF-8 text; send the JSON object in UTF-8."
    else:
        # Python's own limit, as on a whole number of more than 4,300 digits.
        detail = (f"The request body cannot be read: {shown(str(error), 60)}; send a JSON "
                  "object whose numbers have at most 20 digits.")
    return problem(400, "malformed_request", "Malformed request", detail)


# Bodies of HTML forms, which the API does not read as JSON when they are not.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RepeatedField(Exception):
    """A JSON object of the request gives one field twice."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build a JSON object, raising RepeatedField for a name given twice: RFC 8259
    (section 4) calls what a reader makes of a repeated name unpredictable."""
    data: dict[str, Any] = {}
    for name, value in pairs:
        if name in data:
            raise RepeatedField(name.replace("\x00", "%00"))
        data[name] = value
    return data


# Levels of nested arrays and objects a request body may have: Backroom's deepest
# request (an order's lines with their fields) needs three.
MAX_JSON_DEPTH = 32


def _deeper_than(data: Any, limit: int) -> bool:
    """Return whether arrays and objects in `data` nest more than `limit` levels deep,
    walked without recursion."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            pending.extend((child, depth + 1) for child in children)
    return False


def _too_deep() -> HttpResponse:
    return problem(400, "malformed_request", "Malformed request",
                   f"The JSON body nests arrays or objects more than {MAX_JSON_DEPTH} levels "
                   "deep; no Backroom request needs more than three. Send the fields as "
                   "the API documentation shows them.")


def _nul_problem(field: str, message: str) -> HttpResponse:
    return problem(422, "validation_error", "Invalid input", f"{field} {message}",
                   [{"field": field, "message": f"The text {message}"}])


def _nul_path(value: Any, path: str) -> str | None:
    """Return the path (`lines[0].sku`) of the first text in `value` with a NUL; a key
    with a NUL is named with `\\u0000` in its place."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = str(key).replace("\x00", "\\u0000")
            field = f"{path}.{name}" if path else name
            if "\x00" in str(key):
                return field
            found = _nul_path(item, field)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


class DatabaseLostOnScreen:
    """Show a page with what to do when a screen loses its connection to the database,
    instead of a server error.

    Service calls that change data show the error in their form. This covers
    the reads around them. The API handles its own.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest,
                          exception: Exception) -> HttpResponse | None:
        if request.path.startswith(API_PREFIX):
            return None
        if not isinstance(exception, DatabaseError | InterfaceError):
            return None
        error = database_error_as(exception, screen=True)
        if not isinstance(error, DatabaseUnavailable):
            return None
        # %r escapes control characters that the address may contain.
        logger.error("database connection lost on %s %r: %r", request.method, request.path,
                     str(exception))
        # The page reads nothing from the database (no user, no messages), because the
        # connection is gone for the rest of this request.
        return render(request, "web/database_lost.html", {"detail": error.detail}, status=503)

"""Requests rejected before any view runs: text with a NUL character."""

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from django.http import HttpRequest, HttpResponse

from backroom.api.problems import problem
from backroom.web.views.common import page

API_PREFIX = "/api/"
NUL_MESSAGE = ("contains a NUL character (%00), which no text in Backroom may contain; "
               "remove it.")


class RejectNulCharacter:
    """Reject a request whose query or form fields contain a NUL character, before any
    view reads them.

    No text in Backroom may contain one. PostgreSQL raises an error for a NUL
    in any statement parameter. On SQLite, a search for text with a NUL
    returned unrelated rows. The screens get a 400 page,
    also for a NUL in the address. The REST API gets a 422 problem naming the
    query parameter or body field; a NUL in an API address matches no record,
    which the API itself answers with 404. Uploaded files are not checked,
    because they are read as data.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            field = _api_nul_field(request)
            if field is not None:
                return problem(422, "validation_error", "Invalid input",
                               f"{field} {NUL_MESSAGE}",
                               [{"field": field, "message": f"The text {NUL_MESSAGE}"}])
        elif _screen_has_nul(request):
            return page(request, {}, "web/bad_text.html", status=400)
        return self.get_response(request)


def _screen_has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
        return True
    if request.method != "POST":
        return False
    return any("\x00" in value for values in request.POST.lists() for value in values[1])


def _api_nul_field(request: HttpRequest) -> str | None:
    """Return the name of the first query parameter or JSON body field with a NUL."""
    query = request.META.get("QUERY_STRING", "")
    if "%00" in query:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if "\x00" in value or "\x00" in name:
                return f"query.{name.replace(chr(0), '')}"
    if (request.method in ("POST", "PUT", "PATCH") and request.content_type == "application/json"
            and b"\\u0000" in request.body):
        try:
            body = json.loads(request.body)
        except ValueError:
            # Not JSON: the API rejects the body itself.
            return None
        return _nul_path(body, "")
    return None


def _nul_path(value: Any, path: str) -> str | None:
    """Return the path (`lines[0].sku`) of the first text in `value` with a NUL."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                return path or "body"
            found = _nul_path(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None

"""Requests the screens reject before any view runs."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from backroom.web.views.common import page

# The REST API handles such requests itself and returns a problem+json body.
API_PREFIX = "/api/"


class RejectNulCharacter:
    """Return 400 for a screen request whose address, query or form fields contain a NUL
    character.

    No text in Backroom may contain one, and PostgreSQL raises an error for a
    NUL in any statement parameter, so without this check a search or a page
    address with `%00` in it fails with a server error there, and on SQLite
    it finds nothing. Uploaded files are not checked: they are read as data.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX) and _has_nul(request):
            return page(request, {}, "web/bad_text.html", status=400)
        return self.get_response(request)


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
        return True
    if request.method != "POST":
        return False
    return any("\x00" in value for values in request.POST.lists() for value in values[1])

"""Helpers shared by the screen views."""

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from backroom.accounts.permissions import has_permission
from backroom.accounts.services import user_role

PAGE_SIZE = 50


def page(request: HttpRequest, context: dict[str, Any], template: str,
         status: int = 200) -> HttpResponse:
    """Render a screen with the signed-in user's role in the context."""
    context.setdefault("role", user_role(request.user) if request.user.is_authenticated else None)
    return render(request, template, context, status=status)


def is_htmx(request: HttpRequest) -> bool:
    """Return True when htmx sent the request (django-htmx sets `request.htmx`)."""
    return bool(getattr(request, "htmx", False))


def forbidden(request: HttpRequest, permission: str) -> HttpResponse:
    return page(request, {"permission": permission}, "web/forbidden.html", status=403)


def allowed(request: HttpRequest, permission: str) -> bool:
    return has_permission(request.user, permission)


def paginate(request: HttpRequest, rows: QuerySet[Any], size: int = PAGE_SIZE) -> Page:
    """Return one page of a queryset; LIMIT and OFFSET run in the database."""
    return Paginator(rows, size).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()

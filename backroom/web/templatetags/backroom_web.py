"""Template helpers of the counter screens: money, the menu, labels and audit details."""

from decimal import Decimal
from typing import Any

from django import template
from django.urls import reverse

from backroom.accounts.permissions import has_permission
from backroom.core.money import round_money
from backroom.web.forms import FormState

register = template.Library()

# (label, url name, permission needed to see the entry or None)
MENU = [
    ("Sell", "web:sales", None),
    ("Order status", "web:status", None),
    ("Customers", "web:customers", None),
    ("Items", "web:items", None),
    ("Vendors", "web:vendors", None),
    ("Purchasing", "web:purchasing", "manage_purchasing"),
    ("Receiving", "web:receiving", "receive"),
    ("Settings", "web:settings", "manage_settings"),
    ("Users", "web:users", "manage_users"),
]


@register.filter
def money(value: Any) -> str:
    """Format an amount with two decimals; blank for None."""
    if value is None or value == "":
        return ""
    return f"{round_money(Decimal(value)):,}"


@register.inclusion_tag("web/_menu.html", takes_context=True)
def menu(context: dict[str, Any]) -> dict[str, Any]:
    request = context["request"]
    entries = []
    for label, url_name, permission in MENU:
        if permission and not has_permission(request.user, permission):
            continue
        url = reverse(url_name)
        current = request.path == url or (url != "/" and request.path.startswith(url))
        entries.append({"label": label, "url": url, "current": current})
    return {"entries": entries}


@register.filter
def for_form(state: FormState, name: str) -> FormState:
    """Return `state` when it belongs to the form `name`, else an empty state.

    One page contains several forms with the same input names, so a failed submit
    must fill only the form that was submitted.
    """
    return state if state.name == name else FormState(name=name)


@register.filter
def label_of(value: str) -> str:
    return str(value).replace("_", " ").capitalize()


@register.filter
def event_detail(detail: dict[str, Any]) -> str:
    """Render an audit event's detail as 'Key value, Key value' for the timeline."""
    parts = []
    for key, value in detail.items():
        if isinstance(value, list | dict):
            continue  # Line lists repeat what the lines table shows.
        parts.append(f"{label_of(key)} {value}")
    return ", ".join(parts)

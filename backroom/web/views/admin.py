"""Store settings and users: roles, per-user permissions, API tokens."""

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from backroom.accounts.models import PERMISSIONS, ROLE_PERMISSIONS, ROLES
from backroom.accounts.services import token_create, user_create, user_role, user_set_role
from backroom.core.errors import BackroomError, NotFound, shown
from backroom.core.models import StoreSettings
from backroom.core.services import settings_update
from backroom.web.account_changes import token_revoke, user_permissions_set, user_set_active
from backroom.web.approval import attempt
from backroom.web.forms import FormState, form_state, id_value, parse_amount, parse_quantity
from backroom.web.views.common import allowed, forbidden, page

SETTINGS_AMOUNTS = [
    ("deposit_percent", "Proposed deposit (%)"),
    ("minimum_deposit_percent", "Minimum deposit (%)"),
    ("tax_rate", "Tax rate (%)"),
    ("cash_rounding", "Cash rounding step (0 for none, 0.05, 0.10)"),
    ("over_receipt_tolerance_percent", "Over-receipt tolerance (%)"),
]


@login_required
@require_http_methods(["GET", "POST"])
def store_settings(request: HttpRequest) -> HttpResponse:
    if not allowed(request, "manage_settings"):
        return forbidden(request, "manage_settings")
    store = StoreSettings.load()
    state = FormState(name="settings", values={
        name: str(getattr(store, name)) for name, _ in SETTINGS_AMOUNTS})
    state.values["ready_reminder_days"] = str(store.ready_reminder_days)
    state.values["currency"] = store.currency
    if request.method == "POST":
        state = form_state("save", request.POST)
        changes = _settings_changes(state)
        saved = None
        if changes is not None:
            saved = attempt(request, state,
                            lambda user: settings_update(user=user, changes=changes))
        if saved is not None:
            messages.success(request, "Settings saved.")
            return redirect("web:settings")
    fields = [(name, label, state.values.get(name, ""), state.errors.get(name, ""))
              for name, label in SETTINGS_AMOUNTS]
    return page(request, {"state": state, "fields": fields}, "web/settings.html",
                status=422 if state.failed else 200)


def _settings_changes(state: FormState) -> dict[str, Any] | None:
    changes: dict[str, Any] = {}
    for name, _ in SETTINGS_AMOUNTS:
        places = 3 if name == "tax_rate" else 2
        value: Decimal | None = parse_amount(state, name, places=places)
        changes[name] = value
    changes["ready_reminder_days"] = parse_quantity(state, "ready_reminder_days", minimum=0)
    changes["currency"] = state.values.get("currency", "").strip().upper()
    return None if state.failed else changes


@login_required
@require_http_methods(["GET", "POST"])
def users(request: HttpRequest) -> HttpResponse:
    if not allowed(request, "manage_users"):
        return forbidden(request, "manage_users")
    state = FormState(name="new", values={"role": "clerk"})
    if request.method == "POST":
        state = form_state("new", request.POST)
        try:
            created = _user_create(state)
        except BackroomError as error:
            state.show(error)
        else:
            messages.success(request, f"User {created.username} created.")
            return redirect("web:user", username=created.username)
    rows = [(user, user_role(user)) for user in
            User.objects.prefetch_related("groups").order_by("username")]
    return page(request, {"rows": rows, "roles": ROLES, "state": state}, "web/users.html",
                status=422 if state.failed else 200)


def _user_create(state: FormState) -> User:
    return user_create(username=state.values.get("username", ""),
                       role=state.values.get("role", ""),
                       password=state.values.get("password", ""),
                       email=state.values.get("email", "").strip(),
                       first_name=state.values.get("first_name", "").strip())


@login_required
@require_http_methods(["GET", "POST"])
def user_detail(request: HttpRequest, username: str) -> HttpResponse:
    if not allowed(request, "manage_users"):
        return forbidden(request, "manage_users")
    target = User.objects.filter(username=username).first()
    if target is None:
        raise Http404(f"User '{username}' not found.")
    state = FormState()
    secret = ""
    if request.method == "POST":
        state = form_state(request.POST.get("action", ""), request.POST)
        secret = _user_change(request, state, target)
        if not state.failed and not secret:
            messages.success(request, "Saved.")
            return redirect("web:user", username=target.username)
    role = user_role(target)
    own = set(target.user_permissions.filter(content_type__app_label="accounts")
              .values_list("codename", flat=True))
    permissions = [
        {"code": code, "label": label, "from_role": code in ROLE_PERMISSIONS.get(role or "", []),
         "own": code in own}
        for code, label in PERMISSIONS
    ]
    context = {"target": target, "target_role": role,
               "roles": ROLES, "permissions": permissions, "state": state, "secret": secret,
               "tokens": target.api_tokens.order_by("-id")}
    return page(request, context, "web/user.html", status=422 if state.failed else 200)


def _user_change(request: HttpRequest, state: FormState, target: User) -> str:
    """Apply one form of the user page; return a new token's secret, shown once."""
    try:
        if state.name == "role":
            user_set_role(user=target, role=state.values.get("role", ""))
        elif state.name == "permissions":
            user_permissions_set(user=request.user, target=target,
                                 codes=request.POST.getlist("permission"))
        elif state.name == "token":
            _, secret = token_create(user=target, name=state.values.get("token_name", ""))
            return secret
        elif state.name == "revoke":
            token_text = state.values.get("token", "")
            token_id = id_value(token_text)
            if token_id is None:
                raise NotFound(f"API token '{shown(token_text)}' not found; reload the page.")
            token_revoke(user=request.user, token_id=token_id)
        elif state.name in ("deactivate", "activate"):
            user_set_active(user=request.user, target=target, active=state.name == "activate")
        else:
            state.message = "Unknown change; reload the page and try again."
    except BackroomError as error:
        state.show(error)
    return ""

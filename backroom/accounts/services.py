"""Users, roles and API tokens.

A role is a Django group of the same name; its permissions come from
ROLE_PERMISSIONS and a user may hold extra permissions of their own.
"""

import logging
import secrets
from datetime import timedelta

from django.contrib.auth.models import Group, Permission, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from backroom.accounts.models import PERMISSIONS, ROLE_PERMISSIONS, ROLES, ApiToken
from backroom.core.errors import Conflict, NotFound, ValidationFailed

logger = logging.getLogger(__name__)

# The age at which an API token's last_used_at is written again by its next request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def roles_ensure() -> None:
    """Create the role groups with their default permissions; keep changes made since."""
    permissions = {
        perm.codename: perm
        for perm in Permission.objects.filter(
            content_type__app_label="accounts",
            codename__in=[code for code, _ in PERMISSIONS])
    }
    for role in ROLES:
        group, created = Group.objects.get_or_create(name=role)
        if created or role == "owner":
            group.permissions.add(*[permissions[code] for code in ROLE_PERMISSIONS[role]])


def user_role(user: User) -> str | None:
    names = {group.name for group in user.groups.all()}
    for role in ROLES:
        if role in names:
            return role
    return None


@transaction.atomic
def user_create(*, username: str, role: str, password: str, email: str = "",
                first_name: str = "") -> User:
    if role not in ROLES:
        raise ValidationFailed(
            f"Unknown role '{role}'; use one of {', '.join(ROLES)}.", field="role")
    username = username.strip()
    if not username:
        raise ValidationFailed("The user name is empty; give a name.", field="username")
    if User.objects.filter(username=username).exists():
        raise Conflict(f"User '{username}' already exists; choose another name.",
                       field="username")
    try:
        validate_password(password)
    except ValidationError as error:
        raise ValidationFailed(
            "Password rejected: " + " ".join(error.messages), field="password") from None
    roles_ensure()
    user = User.objects.create_user(
        username=username, password=password, email=email, first_name=first_name)
    user.groups.add(Group.objects.get(name=role))
    logger.info("created user %s with role %s", username, role)
    return user


@transaction.atomic
def user_set_role(*, user: User, role: str) -> User:
    if role not in ROLES:
        raise ValidationFailed(
            f"Unknown role '{role}'; use one of {', '.join(ROLES)}.", field="role")
    roles_ensure()
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    user.groups.add(Group.objects.get(name=role))
    return user


def user_get(username: str) -> User:
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise NotFound(f"User '{username}' not found; create it with 'backroom user create'.",
                       field="username") from None


@transaction.atomic
def token_create(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is shown only once."""
    secret = "br_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=secret[:10], digest=ApiToken.digest_of(secret))
    logger.info("created API token %s for user %s", token.prefix, user.username)
    return token, secret


def token_authenticate(secret: str) -> User | None:
    """Return the active user of an unrevoked token, or None, and record the token's use.

    `last_used_at` is written only when it is older than LAST_USED_RESOLUTION,
    so a client sending many requests with one token causes at most one write
    a minute, not a write and a commit per request.
    """
    token = (ApiToken.objects.select_related("user")
             .filter(digest=ApiToken.digest_of(secret), revoked_at__isnull=True).first())
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    stale = now - LAST_USED_RESOLUTION
    if token.last_used_at is None or token.last_used_at <= stale:
        # Repeating the condition in the UPDATE lets a concurrent request that read the
        # same old value write nothing.
        (ApiToken.objects.filter(pk=token.pk)
         .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale))
         .update(last_used_at=now))
    return token.user

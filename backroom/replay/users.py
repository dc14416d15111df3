"""The users that imports and the replay act as."""

import secrets

from django.contrib.auth.models import User

from backroom.accounts.services import roles_ensure, user_create, user_get
from backroom.core.errors import NotFound

REPLAY_USERNAME = "replay"


def acting_user(username: str | None) -> User:
    """Return the named user, or without a name the oldest active owner."""
    if username:
        return user_get(username)
    owner = (User.objects.filter(is_active=True, groups__name="owner").order_by("pk").first())
    if owner is None:
        raise NotFound("No owner account exists; create one with 'backroom user create NAME "
                       "--role owner' or name a user with --user.", field="user")
    return owner


def replay_user() -> User:
    """Find or create the owner account that the replay acts as.

    Its password is random and never shown: the account exists to sign the
    replayed records, not to log in.
    """
    roles_ensure()
    user = User.objects.filter(username=REPLAY_USERNAME).first()
    if user is None:
        user = user_create(username=REPLAY_USERNAME, role="owner",
                           password=secrets.token_urlsafe(24), first_name="Replay")
    return user

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from backroom.accounts.models import ApiToken
from backroom.accounts.services import token_authenticate


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>`; the request then acts as the token's user."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is None:
            return None
        request.user = user
        ApiToken.objects.filter(digest=ApiToken.digest_of(token)).update(
            last_used_at=timezone.now())
        return user

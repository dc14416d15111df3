from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from backroom.accounts.services import token_authenticate


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>`; the request then acts as the token's user."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is None:
            return None
        request.user = user
        return user

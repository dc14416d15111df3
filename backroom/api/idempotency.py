"""Idempotency-Key support for POST endpoints.

The first response to a key is stored in the same transaction as the change
it reports. A repeat therefore reads the stored response, or, while the first
request is still running, waits on the key's unique index and then reads it.
"""

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from ninja import Status
from pydantic import BaseModel

from backroom.core.errors import Conflict, ValidationFailed
from backroom.core.models import IdempotencyKey

MAX_KEY_LENGTH = 200


def idempotent(status: int = 200) -> Callable:
    """Make a POST view replay its first response for a repeated Idempotency-Key.

    The view returns the response body; `status` is its success status.
    """

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            key = request.headers.get("Idempotency-Key")
            if not key:
                return Status(status, view(request, *args, **kwargs))
            if len(key) > MAX_KEY_LENGTH:
                raise ValidationFailed(
                    f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters.",
                    field="Idempotency-Key")
            method = request.method or "POST"
            digest = hashlib.sha256(
                method.encode() + b" " + request.path.encode() + b"\n" + _canonical(request.body)
            ).hexdigest()
            stored = _stored(request, key, digest)
            if stored is not None:
                return stored
            try:
                with transaction.atomic():
                    body = view(request, *args, **kwargs)
                    IdempotencyKey.objects.create(
                        user=_user(request), key=key, method=method, path=request.path,
                        body_hash=digest, status_code=status, response=_jsonable(body))
            except IntegrityError:
                # Another request with this key committed first, so its response is stored.
                stored = _stored(request, key, digest)
                if stored is None:
                    raise
                return stored
            return Status(status, body)

        return wrapper

    return decorate


def _stored(request: HttpRequest, key: str, digest: str) -> Status | None:
    row = IdempotencyKey.objects.filter(user=_user(request), key=key).first()
    if row is None:
        return None
    if row.body_hash != digest:
        raise Conflict(
            f"Idempotency-Key '{key}' was already used with another request; use a new key "
            "for a new request.", field="Idempotency-Key")
    return Status(row.status_code, row.response)


def _canonical(body: bytes) -> bytes:
    """Return the body as sorted, compact JSON, so key order and spacing do not matter."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return body
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def _user(request: HttpRequest) -> Any:
    """Return the token's user, which the API's authentication put on the request."""
    return getattr(request, "auth", None)


def _jsonable(body: Any) -> Any:
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    return json.loads(json.dumps(body, default=str))

"""API tokens (docs/api.md#authentication): create (the key is returned once), find by key, revoke by name.
Imported by the authentication class, so it imports no DRF view (accounts.services revokes for the pages).

Only a SHA-256 hash of each key is stored: a database dump or an admin page shows no working token. A key is
256 random bits, so a plain hash (no salt, no slow KDF) is enough: there is nothing to guess from it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from .models import ApiToken, User

LAST_USED_RESOLUTION = dt.timedelta(minutes=1)  # last_used_at is written at most once a minute per token


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def api_token_create(*, user: User, name: str, expires_at: dt.datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it and its key, which is not stored and cannot be shown again."""
    key = secrets.token_hex(32)
    token = ApiToken.objects.create(
        user=user, name=name, key_hash=hash_key(key), prefix=key[:8], expires_at=expires_at
    )
    return token, key


def api_token_user(key: str) -> User | None:
    """The active user of an active token with this key, or None; notes when the token was used."""
    token = ApiToken.objects.active().select_related("user").filter(key_hash=hash_key(key)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def api_tokens_revoke_named(*, user: User, name: str) -> int:
    """Revoke every active token of `user` called `name` (the api_token command's --rotate)."""
    with transaction.atomic():
        return ApiToken.objects.active().filter(user=user, name=name).update(revoked_at=timezone.now())

"""API token authentication: hashed, revocable tokens (accounts.tokens) with a limit on wrong ones
(docs/operations.md#brute-force).

DRF's TokenAuthentication answers every wrong token with a plain 401, as fast as a client can ask. Here each
wrong token counts against the client's address (core.net.client_ip); past CSHUB_API_BAD_TOKEN_LIMIT in an
hour every token from that address, a right one included, is answered 429 until the hour ends, so a guesser
cannot tell a hit from a miss. A token is the secret itself, with no account name beside it, so the address
is the thing to count.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from core.net import client_ip
from core.ratelimit import allow, exceeded

from .tokens import api_token_user

BAD_TOKEN_WINDOW = 3600  # seconds


def _key(request: Request) -> str:
    return f"api-bad-token:{client_ip(request._request)}"


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str):
        user = api_token_user(key)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        return (user, None)

    def authenticate(self, request: Request):
        auth = authentication.get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword.lower().encode():
            return None  # no token: the session authentication's turn
        limit = settings.CSHUB_API_BAD_TOKEN_LIMIT
        if exceeded(_key(request), limit=limit, window=BAD_TOKEN_WINDOW):
            raise exceptions.Throttled(wait=BAD_TOKEN_WINDOW, detail="Too many wrong API tokens from here.")
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            allow(_key(request), limit=limit, window=BAD_TOKEN_WINDOW)
            raise

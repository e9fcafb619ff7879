"""Authentication backends (docs/operations.md#brute-force)."""

from __future__ import annotations

import ipaddress
from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest

from core.net import client_ip


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, before ModelBackend checks the password.

    A login over HTTP always has a request (Django's LoginView passes it); a call without one (a management
    command, the test client's login()) has no address to count and nothing to lock out, so it is left to
    the password check rather than refused.
    """

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def lockout_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """The account a login attempt counts against (AXES_USERNAME_CALLABLE): the email as typed, folded, so
    "Ann@X.com" and "ann@x.com " share one count."""
    value = (credentials or {}).get("username")
    if value is None and request is not None:
        value = request.POST.get("username")
    return value.strip().lower() if isinstance(value, str) else None


def lockout_client_ip(request: HttpRequest) -> str | None:
    """The address a login attempt counts against (AXES_CLIENT_IP_CALLABLE): core.net.client_ip, or None
    when there is no address (a unix socket, the test client's force_login), which axes stores as unknown
    (PostgreSQL's inet column refuses anything but an address)."""
    address = client_ip(request)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return None
    return address

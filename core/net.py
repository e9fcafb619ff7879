"""The client's address behind trusted proxies (docs/operations.md#client-address).

REMOTE_ADDR is the proxy's address when cshub runs behind one (the README's TLS proxy): every visitor would
share it, and one client's rate limit or lockout would lock out everyone. X-Forwarded-For is set by the
client, though, and may only be believed as far as it was written by a proxy we trust. So: when the request
comes from an address in CSHUB_TRUSTED_PROXIES, walk X-Forwarded-For from the right (the entries our proxies
appended) and take the first address that is not itself a trusted proxy.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _trusted(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in spec if item.strip())


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "1.2.3.4:5678"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind trusted proxies the nearest X-Forwarded-For hop that is not one."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    networks = _trusted(tuple(settings.CSHUB_TRUSTED_PROXIES))
    address = _address(remote)
    if not networks or address is None or not any(address in net for net in networks):
        return remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        hop_address = _address(hop)
        if hop_address is None:
            return remote  # a garbled header: trust nothing in it
        if not any(hop_address in net for net in networks):
            return str(hop_address)
    return str(_address(hops[0])) if hops else remote

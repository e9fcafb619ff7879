"""The tracking API's write key (docs/integrations.md#the-write-key)."""

from __future__ import annotations

import hmac
import secrets

from django.db import transaction

from ..models import SegmentWriteKey


def write_key_get_or_create() -> str:
    """The write key, made on first use."""
    with transaction.atomic():
        key = SegmentWriteKey.objects.select_for_update().values_list("key", flat=True).first()
        if key is None:
            key = SegmentWriteKey.objects.create(key=secrets.token_urlsafe(24)).key
    return key


def write_key_rotate() -> str:
    """A new write key; the old one stops working at once."""
    with transaction.atomic():
        SegmentWriteKey.objects.all().delete()
        return SegmentWriteKey.objects.create(key=secrets.token_urlsafe(24)).key


def write_key_matches(candidate: str) -> bool:
    """Compared in constant time; no key configured yet means nothing matches."""
    key = SegmentWriteKey.objects.values_list("key", flat=True).first()
    return bool(key and candidate) and hmac.compare_digest(key.encode(), candidate.encode())


def write_key_hint(key: str) -> str:
    """What a page may show of a key: its first characters."""
    return f"{key[:6]}…" if key else ""


def segment_status() -> dict[str, object]:
    """What the Integrations page shows of the tracking API: configured or not, the key's first characters
    (never the whole key), and the paths to give the libraries' host."""
    key = SegmentWriteKey.objects.values_list("key", flat=True).first() or ""
    return {
        "configured": bool(key),
        "write_key_hint": write_key_hint(key),
        "endpoints": ["/v1/batch", "/v1/track", "/v1/identify", "/v1/group", "/v1/page", "/v1/screen"],
        "command": "manage.py segment_write_key [--rotate]",
    }

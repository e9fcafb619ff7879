"""Tests that need a real browser or service: skipped with a reason on a laptop, failed in CI (CI=true)."""

from __future__ import annotations

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
from django.db import connection

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI requires this: {reason}")
    pytest.skip(reason)


def require_chromium() -> str:
    if not os.path.exists(CHROMIUM):
        _missing("Chromium is not installed (apt-get install -y chromium); .ci/run installs it")
    return CHROMIUM


def require_redis() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        _missing("REDIS_URL is not set: the real Celery worker tests run in the PostgreSQL + Redis pass")
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=2).close()
    except OSError:
        pytest.fail(f"REDIS_URL={url} is set but Redis does not answer")
    return url


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        _missing("needs PostgreSQL (set DATABASE_URL); the CI's second pass runs it")

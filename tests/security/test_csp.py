"""Content-Security-Policy (docs/operations.md#content-security-policy): every page sends it, and no template
holds an inline script or event handler it would block (the e2e pages test fails on any CSP violation in
the browser's console)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/(?:ld\+)?json)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I)
JS_URL = re.compile(r"href\s*=\s*[\"']\s*javascript:", re.I)


def templates() -> list[Path]:
    return [p for p in ROOT.glob("**/templates/**/*.html") if ".venv" not in p.parts]


def test_no_template_has_inline_script_or_event_handlers():
    offenders = [
        f"{path.relative_to(ROOT)}: {m.group(0)}"
        for path in templates()
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, JS_URL)
        for m in pattern.finditer(path.read_text())
    ]
    assert offenders == []


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/login/", "/", "/book/", "/api/docs/"])
def test_pages_send_a_policy_that_allows_only_our_scripts(admin_client, anonymous, url):
    client = anonymous if url == "/login/" else admin_client
    response = client.get(url)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "frame-ancestors 'none'" in policy

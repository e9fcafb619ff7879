"""Template context every page gets: the company name and the site URL (settings)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    return {"COMPANY_NAME": settings.CSHUB_COMPANY_NAME, "SITE_URL": settings.SITE_URL}

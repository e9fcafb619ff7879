"""What the Integrations page shows of the Stripe connector (docs/integrations.md#stripe): which settings are
present (never their values beyond a prefix), the webhook path and the reporting currency."""

from __future__ import annotations

from django.conf import settings


def _hint(secret: str) -> str:
    return f"{secret[:8]}…" if secret else ""


def stripe_status() -> dict[str, object]:
    return {
        "webhook_configured": bool(settings.STRIPE_WEBHOOK_SECRET),
        "webhook_secret_hint": _hint(settings.STRIPE_WEBHOOK_SECRET),
        "api_key_configured": bool(settings.STRIPE_API_KEY),
        "api_key_hint": _hint(settings.STRIPE_API_KEY),
        "webhook_path": "/integrations/stripe/webhook/",
        "currency": settings.CSHUB_CURRENCY,
        "command": "manage.py sync_stripe [--since YYYY-MM-DD]",
    }

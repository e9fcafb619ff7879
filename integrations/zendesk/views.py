"""The Zendesk webhook endpoint (docs/integrations.md#zendesk)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .services import SIGNATURE_HEADER, TIMESTAMP_HEADER, BadSignature, zendesk_webhook_receive


@csrf_exempt  # authenticated by Zendesk's signature, not a session
@require_POST
def zendesk_webhook(request: HttpRequest) -> JsonResponse:
    """401 for a missing, wrong or stale signature; 400 for a body that names no ticket; else 202: the
    tickets are fetched and written in the background."""
    try:
        ids = zendesk_webhook_receive(
            body=request.body,
            signature=request.headers.get(SIGNATURE_HEADER, ""),
            timestamp=request.headers.get(TIMESTAMP_HEADER, ""),
        )
    except BadSignature as exc:
        return JsonResponse({"detail": str(exc)}, status=401)
    except ValueError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    return JsonResponse({"accepted": ids}, status=202)

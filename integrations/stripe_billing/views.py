"""POST /integrations/stripe/webhook/ (docs/integrations.md#the-webhook): the `stripe` library checks the
signature and its timestamp (5 minutes' tolerance, so a captured request cannot be replayed later); an event
id already applied is acknowledged and changes nothing."""

from __future__ import annotations

import json

import stripe
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.ingest import IngestError

from .. import activity
from .services import CONNECTOR, stripe_event_apply

MAX_BODY = 1024 * 1024  # Stripe's events are a few KB; a subscription with many items stays far below this
TOLERANCE_SECONDS = 300  # stripe.Webhook's default, stated


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> JsonResponse:
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        return JsonResponse({"detail": "STRIPE_WEBHOOK_SECRET is not set."}, status=503)
    payload = request.read(MAX_BODY + 1)
    if len(payload) > MAX_BODY:
        return JsonResponse({"detail": f"The body is larger than {MAX_BODY:,} bytes."}, status=400)
    try:
        event = json.loads(payload)
        if not isinstance(event, dict):  # the library reads the body as an object
            raise ValueError("not an object")
        stripe.Webhook.construct_event(
            payload, request.META.get("HTTP_STRIPE_SIGNATURE", ""), secret, tolerance=TOLERANCE_SECONDS
        )
    except ValueError:
        activity.record_error(CONNECTOR, "A body that is not a JSON event.", kind="webhook")
        return JsonResponse({"detail": "The body is not a JSON event."}, status=400)
    except stripe.SignatureVerificationError as exc:
        # No payload kept: an unsigned body is anyone's text.
        activity.record_error(CONNECTOR, f"Refused: {exc.user_message or exc}", kind="webhook")
        return JsonResponse(
            {"detail": "Bad signature, or a timestamp outside the tolerance (a replay)."}, status=400
        )
    if not isinstance(event.get("data"), dict) or not isinstance(event["data"].get("object"), dict):
        return JsonResponse({"detail": "Not a Stripe event."}, status=400)
    try:
        counts = stripe_event_apply(event=event)
    except IngestError as exc:
        errors = [e.as_dict() for e in exc.errors[:100]]
        activity.record_error(
            CONNECTOR, f"{event.get('type')}: {errors[:5]}", kind=str(event.get("type")), payload=event
        )
        return JsonResponse(
            {"detail": "The event's data is invalid; nothing was written.", "errors": errors}, status=400
        )
    return JsonResponse({"received": True, **counts})

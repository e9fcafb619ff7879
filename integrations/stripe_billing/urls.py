from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [path("integrations/stripe/webhook/", views.webhook, name="stripe_webhook")]

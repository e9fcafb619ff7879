from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("health/model/", views.health_model, name="health_model"),
    path("health/model/preview/<str:key>/", views.health_model_preview, name="health_model_preview"),
]

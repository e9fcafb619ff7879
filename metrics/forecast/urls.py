from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("renewals/<int:pk>/", views.renewal_edit, name="renewal_edit"),
    path("renewals/<int:pk>/forecast/", views.renewal_forecast_update, name="renewal_forecast_update"),
    path("renewals/<int:pk>/outcome/", views.renewal_outcome_update, name="renewal_outcome_update"),
]

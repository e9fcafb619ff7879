from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("imports/", views.import_csv, name="import_csv"),
    path("imports/<int:job_id>/", views.import_job, name="import_job"),
    path("imports/samples/<slug:kind>.csv", views.import_sample, name="import_sample"),
]

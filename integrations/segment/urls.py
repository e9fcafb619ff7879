"""Top-level /v1/… paths, as Segment's libraries post them (host + "/v1/batch")."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("v1/batch", views.batch, name="segment_batch"),
    path("v1/track", views.track, name="segment_track"),
    path("v1/identify", views.identify, name="segment_identify"),
    path("v1/group", views.group, name="segment_group"),
    path("v1/page", views.page, name="segment_page"),
    path("v1/screen", views.screen, name="segment_screen"),
]

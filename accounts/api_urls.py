from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("customers/", api.CustomerListView.as_view(), name="api_customers"),
    path(
        "customers/<external_id:external_id>/", api.CustomerDetailView.as_view(), name="api_customer_detail"
    ),
    path("contacts/", api.ContactIngestView.as_view(), name="api_contacts"),
    path("touchpoints/", api.TouchpointCreateView.as_view(), name="api_touchpoints"),
    path(
        "customers/<external_id:external_id>/timeline/",
        api.CustomerTimelineView.as_view(),
        name="api_customer_timeline",
    ),
    path("pulses/", api.PulseCreateView.as_view(), name="api_pulses"),
    path("touchpoints/<int:pk>/", api.TouchpointDetailView.as_view(), name="api_touchpoint"),
    path("pulses/<int:pk>/", api.PulseDetailView.as_view(), name="api_pulse"),
    path("notes/", api.NoteCreateView.as_view(), name="api_notes"),
    path("search/", api.SearchView.as_view(), name="api_search"),
    path("notes/<int:pk>/", api.NoteDetailView.as_view(), name="api_note"),
]

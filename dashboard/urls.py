from __future__ import annotations

from django.urls import path

from . import renewals, views

urlpatterns = [
    path("", views.home, name="home"),
    path("trends/", views.trends, name="trends"),
    path("team/", views.team, name="team"),
    path("renewals/", renewals.renewals, name="renewals"),
    path("renewals/list/", renewals.renewals_list, name="renewals_list"),
]

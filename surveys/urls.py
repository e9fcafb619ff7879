from __future__ import annotations

from django.urls import path

from .views import manage, public

app_name = "surveys"

urlpatterns = [
    path("s/<str:token>/", public.answer, name="answer"),
    path("s/<str:token>/thanks/", public.thanks, name="thanks"),
    path("s/<str:token>/unsubscribe/", public.unsubscribe, name="unsubscribe"),
    path("surveys/", manage.results, name="results"),
    path("surveys/comments/", manage.comments, name="comments"),
    path("surveys/campaigns/new/", manage.campaign_new, name="campaign_new"),
    path("surveys/campaigns/<int:pk>/", manage.campaign_detail, name="campaign_detail"),
]

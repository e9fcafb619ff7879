from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("survey-campaigns/", api.CampaignCreateView.as_view(), name="api_survey_campaigns"),
    path("survey-responses/", api.ResponseImportView.as_view(), name="api_survey_responses"),
    path("metrics/surveys/", api.SurveyMetricsView.as_view(), name="api_metrics_surveys"),
]

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from cshub import health

api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("surveys.api_urls")),
    path("", include("metrics.api_urls")),
    path("", include("playbooks.api_urls")),
    path("", include("dashboard.api_urls")),
]

urlpatterns = [
    path("healthz/", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file (the Content-Security-Policy allows no inline one).
    # The docs are a page for people: signed out, to the login page (the schema answers API clients 401).
    path(
        "api/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="swagger-ui"
    ),
    path("", include("accounts.urls")),
    path("", include("surveys.urls")),
    path("", include("metrics.urls")),
    path("", include("playbooks.urls")),
    path("", include("integrations.urls")),
    path("", include("integrations.segment.urls")),  # /v1/batch … (docs/integrations.md)
    path("", include("integrations.stripe_billing.urls")),
    path("", include("dashboard.urls")),
]

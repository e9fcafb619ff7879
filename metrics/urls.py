from django.urls import include, path

urlpatterns: list = [
    path("", include("metrics.health.urls")),
]

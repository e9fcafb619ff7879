from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .forms import EmailAuthenticationForm

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html",
            authentication_form=EmailAuthenticationForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("book/", views.book, name="book"),
    path("customers/<external_id:external_id>/", views.customer_detail, name="customer_detail"),
    path("customers/<external_id:external_id>/timeline/", views.customer_timeline, name="customer_timeline"),
    path(
        "customers/<external_id:external_id>/touchpoints/", views.touchpoint_create, name="touchpoint_create"
    ),
    path("customers/<external_id:external_id>/pulses/", views.pulse_create, name="pulse_create"),
]

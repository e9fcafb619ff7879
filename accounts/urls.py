from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path, register_converter

from . import edit_views, notification_views, people_views, views
from .forms import EmailAuthenticationForm


class LogKindConverter:
    """touchpoint, pulse or note: the logs people edit and delete (docs/workspace.md#editing-logs)."""

    regex = "touchpoint|pulse|note"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(LogKindConverter, "log_kind")

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
    # Password change and reset by email: Django's own views, in our templates (docs/operations.md#accounts).
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(
            template_name="registration/form_page.html",
            extra_context={"title": "Change your password", "submit": "Change password"},
        ),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="registration/message_page.html",
            extra_context={"title": "Password changed", "message": "Your new password is in use."},
        ),
        name="password_change_done",
    ),
    path(
        "password/reset/",
        views.PasswordResetView.as_view(
            template_name="registration/form_page.html",
            email_template_name="registration/password_reset_email.txt",
            subject_template_name="registration/password_reset_subject.txt",
            extra_context={
                "title": "Reset your password",
                "intro": "Enter your work email; if it has an account, a link to set a new password is sent.",
                "submit": "Send the link",
            },
        ),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="registration/message_page.html",
            extra_context={
                "title": "Check your email",
                "message": "If the address has an account, a link to choose a new password is on its way. "
                "It works once, for a few days.",
            },
        ),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/form_page.html",
            extra_context={"title": "Choose a new password", "submit": "Set password"},
        ),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/message_page.html",
            extra_context={"title": "Password set", "message": "You can log in with your new password."},
        ),
        name="password_reset_complete",
    ),
    path("account/tokens/", views.api_tokens, name="api_tokens"),
    path("account/tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("book/", views.book, name="book"),
    path("search/", views.search_page, name="search"),
    path("customers/<external_id:external_id>/", views.customer_detail, name="customer_detail"),
    path("customers/<external_id:external_id>/timeline/", views.customer_timeline, name="customer_timeline"),
    path(
        "customers/<external_id:external_id>/touchpoints/", views.touchpoint_create, name="touchpoint_create"
    ),
    path("customers/<external_id:external_id>/pulses/", views.pulse_create, name="pulse_create"),
    path("customers/<external_id:external_id>/notes/", views.note_create, name="note_create"),
    path(
        "customers/<external_id:external_id>/<log_kind:kind>s/<int:pk>/edit/", views.log_edit, name="log_edit"
    ),
    path(
        "customers/<external_id:external_id>/<log_kind:kind>s/<int:pk>/delete/",
        views.log_delete,
        name="log_delete",
    ),
    # Editing in the app (docs/workspace.md#editing-in-the-app)
    path("customers/<external_id:external_id>/edit/", edit_views.customer_edit, name="customer_edit"),
    path("customers/<external_id:external_id>/contacts/new/", edit_views.contact_edit, name="contact_create"),
    path(
        "customers/<external_id:external_id>/contacts/<int:pk>/edit/",
        edit_views.contact_edit,
        name="contact_edit",
    ),
    path("book/bulk/", edit_views.book_bulk_edit, name="book_bulk_edit"),
    path("book/views/", edit_views.saved_view_create, name="saved_view_create"),
    path("book/views/<int:pk>/delete/", edit_views.saved_view_delete, name="saved_view_delete"),
    # Users and teams (admins; docs/workspace.md#users-and-teams)
    path("people/users/", people_views.users, name="people_users"),
    path("people/users/<int:pk>/", people_views.user_edit, name="people_user"),
    path("people/users/<int:pk>/active/", people_views.user_active, name="people_user_active"),
    path("people/teams/", people_views.teams, name="people_teams"),
    path("people/teams/<int:pk>/", people_views.team_edit, name="people_team"),
    # Notifications (docs/workspace.md#notifications)
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/bell/", notification_views.notification_bell, name="notification_bell"),
    path("notifications/read/", notification_views.notification_read, name="notifications_read_all"),
    path("notifications/<int:pk>/read/", notification_views.notification_read, name="notification_read"),
    path("notifications/settings/", notification_views.notification_settings, name="notification_settings"),
]

"""core.exception_handlers: what a service raises in an API view becomes the API's error answer."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from rest_framework import exceptions, permissions
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from core.errors import Conflict, ServiceError
from core.ingest import IngestError, RowError


class Refused(Conflict):
    def __init__(self, run: int):
        super().__init__("Already running.")
        self.run = run

    def api_body(self):
        return {"detail": str(self), "run": self.run}


class RefusedAgain(Refused):
    pass


class Gone(ServiceError):
    status_code = 410


def answer(exc: Exception) -> tuple[int, object]:
    class View(APIView):
        permission_classes = [permissions.AllowAny]

        def get(self, request):
            raise exc

    request = APIRequestFactory().get("/")
    request.user = AnonymousUser()
    response = View.as_view()(request)
    response.render()
    return response.status_code, json.loads(response.content)


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (ValidationError({"score": "Out of range."}), 400, {"score": ["Out of range."]}),
        (ValidationError({"__all__": "Closed."}), 400, {"__all__": ["Closed."]}),
        (ValidationError("In the future."), 400, {"non_field_errors": ["In the future."]}),
        (ValidationError(["One.", "Two."]), 400, {"non_field_errors": ["One.", "Two."]}),
        (PermissionDenied("Not your customer."), 403, {"detail": "Not your customer."}),
        (PermissionDenied(), 403, {"detail": "You do not have permission to perform this action."}),
        (
            Http404("No Customer matches the given query."),
            404,
            {"detail": "No Customer matches the given query."},
        ),
        (ObjectDoesNotExist("Customer matching query does not exist."), 404, {"detail": "Not found."}),
        (exceptions.NotFound(), 404, {"detail": "Not found."}),  # DRF's own, as DRF answers them
    ],
)
def test_django_exceptions(exc, status, body):
    assert answer(exc) == (status, body)


def test_ingest_error_names_every_row():
    errors = [RowError(0, "email", "Enter a valid email address."), RowError(2, "non_field_errors", "Bad.")]
    assert answer(IngestError(errors)) == (
        400,
        {
            "detail": "2 row(s) are invalid; nothing was written.",
            "errors": [
                {"row": 0, "field": "email", "message": "Enter a valid email address."},
                {"row": 2, "field": "non_field_errors", "message": "Bad."},
            ],
        },
    )


def test_service_error_answers_its_status_and_body_and_so_do_subclasses():
    assert answer(Refused(7)) == (409, {"detail": "Already running.", "run": 7})
    assert answer(RefusedAgain(8)) == (409, {"detail": "Already running.", "run": 8})


def test_default_body_is_the_message():
    assert answer(Gone("Expired.")) == (410, {"detail": "Expired."})
    assert answer(ServiceError("No.")) == (400, {"detail": "No."})


def test_other_exceptions_are_not_answered():
    with pytest.raises(ZeroDivisionError):
        answer(ZeroDivisionError())

"""Validation of survey input shared by the API and CSV import (serializers validate; services write)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from accounts.services import validate_not_in_future
from core import fields

from .models import COMMENT_MAX_LENGTH, Kind, scale_of


class ResponseImportSerializer(serializers.Serializer):
    """One historical answer of `POST /api/v1/survey-responses/`."""

    customer = fields.CharField(max_length=100, multiline=False, help_text="The customer's external_id.")
    contact_email = fields.EmailField()
    kind = serializers.ChoiceField(choices=Kind.choices)
    score = fields.IntegerField()
    comment = fields.CharField(
        max_length=COMMENT_MAX_LENGTH, required=False, allow_blank=True, allow_null=True
    )
    answered_at = fields.DateTimeField()

    def validate_answered_at(self, value: dt.datetime) -> dt.datetime:
        try:
            validate_not_in_future(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        scale = scale_of(attrs["kind"])
        if attrs["score"] not in scale:
            raise serializers.ValidationError(
                {"score": f"A {attrs['kind'].upper()} score is from {scale[0]} to {scale[-1]}."}
            )
        return attrs

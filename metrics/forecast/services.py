"""Writes of the renewals forecast (docs/renewals.md): a renewal's forecast (category, expected ARR, note) and
its outcome entered in the app, with the MRR ledger change when the user confirms it. Who may: the
"set a renewal's forecast" row of docs/architecture.md#roles-and-permissions (accounts.visibility
.can_edit_customer): own customers (CSM), their teams' (manager), all (admin). Every change is audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from accounts.visibility import can_edit_customer

from ..models import ForecastCategory, MrrEntry, Outcome, Renewal
from ..renewal_rules import forecast_freeze
from ..services import mrr_upsert

FORECAST_FIELDS = ["category", "expected_arr_override", "forecast_note"]
OUTCOME_FIELDS = ["outcome", "renewed_arr", "closed_expected_arr"]
MRR_FIELDS = ["effective_date", "mrr"]
UNSET: Any = object()
CENT = Decimal("0.01")


class Result:
    RENEWED = "renewed"
    DOWNGRADED = "downgraded"
    CHURNED = "churned"
    CHOICES = [(RENEWED, "Renewed at"), (DOWNGRADED, "Downgraded to"), (CHURNED, "Churned")]


def _check(user: User, renewal: Renewal) -> None:
    if not can_edit_customer(user, renewal.customer):
        raise PermissionDenied("You can only forecast the renewals of customers you are responsible for.")


def _locked(renewal: Renewal) -> Renewal:
    return Renewal.objects.select_for_update().select_related("customer").get(pk=renewal.pk)


def renewal_forecast_set(
    *,
    user: User,
    renewal: Renewal,
    category: str = UNSET,
    expected_arr: Decimal | None = UNSET,
    note: str = UNSET,
) -> Renewal:
    """Set a renewal's forecast category, expected ARR override (None: the category's rule) and note; what is
    not passed stays. ValidationError per field; nothing is written then."""
    _check(user, renewal)
    with transaction.atomic():
        renewal = _locked(renewal)
        before = audit.snapshot(renewal, FORECAST_FIELDS)
        errors: dict[str, str] = {}
        closed = renewal.outcome != Outcome.PENDING
        new_category = renewal.category if category is UNSET else (category or "")
        if category is not UNSET and new_category not in ("", *ForecastCategory.values):
            errors["category"] = f"Choose one of {', '.join(ForecastCategory.values)}, or none."
        if closed and category is not UNSET and new_category != renewal.category:
            errors["category"] = (
                f"This renewal is closed ({renewal.get_outcome_display().lower()}); its forecast stays."
            )
        if closed and expected_arr is not UNSET and expected_arr != renewal.expected_arr_override:
            errors["expected_arr"] = (
                f"This renewal is closed ({renewal.get_outcome_display().lower()}); its forecast stays."
            )
        new_override = renewal.expected_arr_override if expected_arr is UNSET else expected_arr
        if new_category == "":
            # A new amount without a category is an error; the one already set (a form sends it back) goes.
            if expected_arr not in (UNSET, None) and expected_arr != renewal.expected_arr_override:
                errors.setdefault("expected_arr", "Choose a category first: an expected ARR belongs to one.")
            new_override = None  # no category, no forecast
        if new_override is not None and new_override < 0:
            errors.setdefault("expected_arr", "Must be 0 or more.")
        if errors:
            raise ValidationError(errors)
        renewal.category = new_category
        renewal.expected_arr_override = new_override
        if note is not UNSET:
            renewal.forecast_note = note.strip()
        changes = audit.diff(before, audit.snapshot(renewal, FORECAST_FIELDS))
        if changes:
            renewal.forecast_updated_at = timezone.now()
            renewal.save(update_fields=[*FORECAST_FIELDS, "forecast_updated_at", "updated_at"])
            audit.record_update(actor=user, obj=renewal, before=before, customer=renewal.customer_id)
    return renewal


@dataclass(frozen=True)
class OutcomeRecorded:
    renewal: Renewal
    mrr_before: Decimal | None  # the MRR in force the day before the change (None: no ledger write asked)
    mrr_after: Decimal | None
    ledger_written: bool


def arr_to_mrr(arr: Decimal) -> Decimal:
    """The MRR of an ARR: ARR ÷ 12 to the cent, half up (docs/renewals.md#outcomes)."""
    return (arr / 12).quantize(CENT, rounding=ROUND_HALF_UP)


def mrr_in_force(*, customer_id: int, day: dt.date) -> Decimal:
    """docs/metrics.md: the MRR of the customer's latest ledger row dated on or before `day` (0 if none)."""
    row = (
        MrrEntry.objects.filter(customer_id=customer_id, effective_date__lte=day)
        .order_by("-effective_date")
        .values_list("mrr", flat=True)
        .first()
    )
    return row if row is not None else Decimal("0.00")


def renewal_outcome_record(
    *,
    user: User,
    renewal: Renewal,
    result: str,
    arr: Decimal | None = None,
    write_ledger: bool = False,
    effective_date: dt.date | None = None,
) -> OutcomeRecorded:
    """Record how a renewal ended: renewed at `arr` (≥ ARR due), downgraded to `arr` (0 < arr < ARR due) or
    churned. With `write_ledger`, the MRR ledger gets the new MRR (arr ÷ 12; churned: 0) from
    `effective_date` (default: the due date) through metrics.services.mrr_upsert, which keeps the ledger
    linked and marks the customer's health dirty. All in one transaction; ValidationError per field."""
    _check(user, renewal)
    errors: dict[str, str] = {}
    if result not in (Result.RENEWED, Result.DOWNGRADED, Result.CHURNED):
        raise ValidationError({"result": "Choose renewed, downgraded or churned."})
    with transaction.atomic():
        renewal = _locked(renewal)
        if result == Result.CHURNED:
            if arr is not None:
                errors["arr"] = "A churned renewal renews nothing: leave the amount empty."
        elif arr is None:
            errors["arr"] = "Enter the ARR it renewed at."
        elif result == Result.RENEWED and arr < renewal.arr_due:
            errors["arr"] = f"Below the ARR due ({renewal.arr_due}): that is a downgrade."
        elif result == Result.DOWNGRADED and not Decimal(0) < arr < renewal.arr_due:
            errors["arr"] = f"A downgrade is above 0 and below the ARR due ({renewal.arr_due})."
        day = effective_date or renewal.due_date
        if errors:
            raise ValidationError(errors)
        before = audit.snapshot(renewal, OUTCOME_FIELDS)
        renewal.outcome = Outcome.CHURNED if result == Result.CHURNED else Outcome.RENEWED
        renewal.renewed_arr = None if result == Result.CHURNED else arr
        renewal.save(update_fields=["outcome", "renewed_arr", "updated_at"])
        forecast_freeze(renewal_ids=[renewal.pk], today=timezone.localdate())
        renewal.refresh_from_db(fields=["closed_expected_arr"])
        audit.record_update(actor=user, obj=renewal, before=before, customer=renewal.customer_id)
        if not write_ledger:
            return OutcomeRecorded(renewal, None, None, False)
        new_mrr = Decimal("0.00") if result == Result.CHURNED else arr_to_mrr(arr)
        return _ledger_write(user=user, renewal=renewal, day=day, new_mrr=new_mrr)


def _ledger_write(*, user: User, renewal: Renewal, day: dt.date, new_mrr: Decimal) -> OutcomeRecorded:
    customer = renewal.customer
    existing = MrrEntry.objects.filter(customer=customer, effective_date=day).first()
    previous = mrr_in_force(customer_id=customer.pk, day=day - dt.timedelta(days=1))
    if existing is None and previous == new_mrr:
        return OutcomeRecorded(renewal, previous, new_mrr, False)  # the MRR does not change
    before = audit.snapshot(existing, MRR_FIELDS) if existing else None
    mrr_upsert(rows=[{"customer": customer.external_id, "effective_date": day, "mrr": new_mrr}])
    entry = MrrEntry.objects.get(customer=customer, effective_date=day)
    if before is None:
        audit.record_create(actor=user, obj=entry, fields=MRR_FIELDS, customer=customer)
    else:
        audit.record_update(actor=user, obj=entry, before=before, customer=customer)
    return OutcomeRecorded(renewal, previous, new_mrr, True)

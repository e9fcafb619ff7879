"""Writes of the Stripe connector (docs/integrations.md#stripe): Stripe customers → cshub customers,
subscriptions → versions → the MRR ledger, through accounts.services.customers_upsert and
metrics.services.mrr_upsert (the REST API's services: their validation, idempotency and dirty marks)."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditAction, Customer
from accounts.serializers import CustomerIngestSerializer
from core.api import INGEST_LOCK_TIMEOUT, validate_rows
from core.ingest import IngestError, RowError
from core.sql import chunked, set_local_lock_timeout
from metrics.models import MrrEntry
from metrics.serializers import MrrIngestSerializer
from metrics.services import mrr_upsert

from .. import activity
from ..connector_audit import customers_upsert_audited
from ..models import StripeCustomerLink, StripeEvent, StripeSubscriptionVersion
from .mrr import breakpoints, currencies, customer_ledger, day_of, mrr_on, relevant, schedule

CONNECTOR = "stripe"
AUDIT_LABEL = "Stripe"
SUBSCRIPTION_EVENTS = "customer.subscription."
CUSTOMER_EVENTS = ("customer.created", "customer.updated")


@dataclass
class Seen:
    """A subscription as an event or the sync saw it: from which day (None: the sync, which knows only the
    current state) and when (the event's `created`, or the sync's clock)."""

    sub: dict[str, Any]
    day: dt.date | None
    stamp: int


def stripe_customer_of(sub: dict[str, Any]) -> str:
    customer = sub.get("customer")
    return customer if isinstance(customer, str) else (customer or {}).get("id", "")


def stripe_event_apply(*, event: dict[str, Any]) -> dict[str, Any]:
    """Apply one verified webhook event, once: a replayed event id changes nothing."""
    kind = str(event.get("type", ""))
    obj = (event.get("data") or {}).get("object") or {}
    with transaction.atomic():
        set_local_lock_timeout(INGEST_LOCK_TIMEOUT)
        try:
            with transaction.atomic():
                StripeEvent.objects.create(event_id=str(event.get("id", ""))[:255], type=kind[:100])
        except IntegrityError:
            activity.record_received(CONNECTOR, kind=kind)
            return {"duplicate": True}
        if kind in CUSTOMER_EVENTS:
            counts = stripe_objects_apply(customers=[obj], seen=[], strict=True)
        elif kind.startswith(SUBSCRIPTION_EVENTS):
            try:
                created = int(event.get("created") or time.time())
                day = day_of(obj.get("start_date")) if kind.endswith(".created") else None
            except (TypeError, ValueError, OverflowError, OSError):
                created, day = int(time.time()), None  # the rules' own check then says what is wrong
            day = day or day_of(created)
            counts = stripe_objects_apply(customers=[], seen=[Seen(obj, day, created)], strict=True)
        else:
            counts = {}  # other events (invoices, charges…) carry nothing the ledger reads
        activity.record_received(CONNECTOR, kind=kind)
    return counts


def _customer_rows(customers: Sequence[dict[str, Any]], *, strict: bool) -> tuple[list[dict], dict[str, str]]:
    """Validated customer rows and {stripe id: external_id}; a bad one raises (strict) or is recorded."""
    objs = [o for o in customers if o.get("id") and not o.get("deleted")]
    objs = [o for o in objs if isinstance(o["id"], str)]
    rows = []
    for o in objs:
        metadata = o.get("metadata") if isinstance(o.get("metadata"), dict) else {}
        name = o.get("name") or o.get("email") or o["id"]
        rows.append({"external_id": metadata.get("cshub_external_id") or o["id"], "name": str(name)[:200]})
    if not rows:
        return [], {}
    try:
        valid = validate_rows(CustomerIngestSerializer, rows)  # one pass over all rows (the common case)
    except IngestError as exc:
        if strict:
            raise
        bad = {e.row for e in exc.errors}
        for e in exc.errors:
            activity.record_error(
                CONNECTOR,
                f"customer {objs[e.row]['id']}: {e.field}: {e.message}",
                kind="customer",
                payload=objs[e.row],
            )
        objs = [o for i, o in enumerate(objs) if i not in bad]
        valid = validate_rows(CustomerIngestSerializer, [r for i, r in enumerate(rows) if i not in bad])
    return valid, {o["id"]: row["external_id"] for o, row in zip(objs, valid, strict=True)}


def stripe_objects_apply(
    *, customers: Sequence[dict[str, Any]], seen: Sequence[Seen], strict: bool = False
) -> dict[str, int]:
    """Upsert customers, record subscription versions, rebuild the touched customers' ledgers.

    `strict` (a webhook): an invalid customer is a 400. Otherwise (the sync) it is recorded as a connector
    error and skipped. A subscription in another currency than CSHUB_CURRENCY is always recorded and
    skipped: cshub does not convert money."""
    counts = {"customers": 0, "subscriptions": 0, "ledger_rows": 0, "errors": 0}
    rows, links = _customer_rows(customers, strict=strict)
    keep: list[Seen] = []
    for item in seen:
        try:  # Stripe's shapes, checked once here so the ledger's arithmetic cannot fail later
            found = currencies(item.sub) - {settings.CSHUB_CURRENCY}
            breakpoints(item.sub)
            mrr_on(item.sub, timezone.localdate())
        except (
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            ArithmeticError,
            OverflowError,
            OSError,
        ) as exc:
            counts["errors"] += 1
            activity.record_error(
                CONNECTOR,
                f"subscription {item.sub.get('id')}: not in Stripe's shape ({exc.__class__.__name__}: {exc})",
                kind="customer.subscription",
                payload=item.sub,
            )
            continue
        if found:
            counts["errors"] += 1
            activity.record_error(
                CONNECTOR,
                f"subscription {item.sub.get('id')}: currency {', '.join(sorted(found))} is not the "
                f"reporting currency {settings.CSHUB_CURRENCY} (CSHUB_CURRENCY); not counted",
                kind="customer.subscription",
                payload=item.sub,
            )
        elif item.sub.get("id") and stripe_customer_of(item.sub):
            keep.append(item)

    # Subscriptions of Stripe customers never seen: the customer is created under its Stripe id.
    stripe_ids = {stripe_customer_of(i.sub) for i in keep} | set(links)
    stripe_customers_lock(stripe_ids=stripe_ids)
    known = dict(
        StripeCustomerLink.objects.filter(stripe_id__in=stripe_ids).values_list("stripe_id", "external_id")
    )
    for stripe_id in sorted({stripe_customer_of(i.sub) for i in keep} - set(known) - set(links)):
        links[stripe_id] = stripe_id
        if not Customer.objects.filter(external_id=stripe_id).exists():
            rows.append({"external_id": stripe_id, "name": stripe_id})
    changed_links = {s: e for s, e in links.items() if known.get(s) != e}
    moved = {s: (known[s], e) for s, e in changed_links.items() if s in known}
    for stripe_id, (old, new) in sorted(moved.items()):
        _customer_rename(stripe_id=stripe_id, old=old, new=new)
    if rows:
        merged = {r["external_id"]: r for r in rows}
        result = customers_upsert_audited(rows=list(merged.values()), label=AUDIT_LABEL)
        counts["customers"] = result["created"] + result["updated"]
    if changed_links:
        StripeCustomerLink.objects.bulk_create(
            [StripeCustomerLink(stripe_id=s, external_id=e) for s, e in sorted(changed_links.items())],
            update_conflicts=True,
            unique_fields=["stripe_id"],
            update_fields=["external_id"],
        )
    known.update(links)
    touched = set(moved)
    if keep:
        touched |= _versions_write(keep, counts)
    if touched:
        counts["ledger_rows"] = _ledgers_rebuild(sorted(touched), known)
    return counts


def stripe_customers_lock(*, stripe_ids: set[str]) -> None:
    """Serialise writes about the same Stripe customers until the transaction ends: two deliveries for a
    new subscription (created and updated, sent at once) would both find no version and insert the same one.
    PostgreSQL transaction-level advisory locks, in sorted order (no deadlock); SQLite has one writer."""
    if connection.vendor != "postgresql" or not stripe_ids:
        return
    keys = sorted(f"cshub.stripe:{stripe_id}" for stripe_id in stripe_ids)
    with connection.cursor() as cursor:  # one statement for a sync chunk's 2,000 customers
        cursor.execute(
            "SELECT COUNT(pg_advisory_xact_lock(h)) FROM"
            " (SELECT DISTINCT hashtext(k) AS h FROM unnest(%s::text[]) AS k ORDER BY 1) AS ordered",
            [keys],
        )


def _customer_rename(*, stripe_id: str, old: str, new: str) -> None:
    """A subscription came before its customer's event, which names another external_id (metadata): the
    customer made under the Stripe id takes that id, ledger and all. If both exist, nothing is merged
    (say so on the Integrations page); the ledger is written to the named one from now on."""
    if Customer.objects.filter(external_id=new).exists():
        activity.record_error(
            CONNECTOR,
            f"Stripe customer {stripe_id} was recorded as {old} and now names {new}; both exist: "
            "merge them by hand.",
            kind="customer",
        )
        return
    customer = Customer.objects.filter(external_id=old).first()
    if customer is None:
        return
    Customer.objects.filter(pk=customer.pk).update(external_id=new, updated_at=timezone.now())
    audit.record(
        actor=None,
        actor_label=AUDIT_LABEL,
        action=AuditAction.UPDATE,
        obj=customer,
        customer=customer,
        changes={"external_id": {"before": old, "after": new}},
    )


def _versions_write(seen: Sequence[Seen], counts: dict[str, int]) -> set[str]:
    """Record each subscription's version; return the Stripe customers whose subscriptions changed."""
    by_sub: dict[str, list[StripeSubscriptionVersion]] = defaultdict(list)
    ids = sorted({i.sub["id"] for i in seen})
    for chunk in chunked(ids):
        for version in StripeSubscriptionVersion.objects.filter(subscription_id__in=chunk):
            by_sub[version.subscription_id].append(version)
    today = timezone.localdate()
    create: list[StripeSubscriptionVersion] = []
    update: list[StripeSubscriptionVersion] = []
    touched: set[str] = set()
    for item in seen:
        sub_id, data = item.sub["id"], relevant(item.sub)
        versions = by_sub[sub_id]
        start = day_of(item.sub.get("start_date") or item.sub.get("created")) or today
        if not versions:
            day = start  # first sight: what we know of it holds from its start
        elif item.day is None:  # the sync: a change since the last version is a change as of today
            latest = max(versions, key=lambda v: v.effective_date)
            if latest.data == data:
                continue
            day = max(today, latest.effective_date)
        else:
            day = item.day
        same_day = next((v for v in versions if v.effective_date == day), None)
        if same_day is not None:
            if same_day.stamp > item.stamp or same_day.data == data:
                continue  # an older event arriving late, or nothing new
            same_day.data, same_day.stamp = data, item.stamp
            if same_day.pk:
                update.append(same_day)
        else:
            version = StripeSubscriptionVersion(
                subscription_id=sub_id,
                stripe_customer=stripe_customer_of(item.sub),
                effective_date=day,
                stamp=item.stamp,
                data=data,
            )
            versions.append(version)
            create.append(version)
        touched.add(stripe_customer_of(item.sub))
    StripeSubscriptionVersion.objects.bulk_create(create, batch_size=1000)
    StripeSubscriptionVersion.objects.bulk_update(update, ["data", "stamp"], batch_size=500)
    counts["subscriptions"] += len(create) + len(update)
    return touched


def _ledgers_rebuild(stripe_customers: list[str], links: dict[str, str]) -> int:
    """Write the ledger of these Stripe customers: on each day one of its subscriptions changes, Σ of their
    MRR (docs/integrations.md#mrr-rules). Rows of other days from the first change on get their right value
    too, so a schedule that changed (a cancellation undone) leaves no stale row behind."""
    versions: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for chunk in chunked(stripe_customers):
        rows = StripeSubscriptionVersion.objects.filter(stripe_customer__in=chunk).values_list(
            "stripe_customer", "subscription_id", "effective_date", "data"
        )
        for customer, sub_id, day, data in rows:
            versions[links.get(customer, customer)][sub_id].append((day, data))
    external_ids = sorted(versions)
    existing: dict[str, list[dt.date]] = defaultdict(list)
    for chunk in chunked(external_ids):
        for external_id, day in MrrEntry.objects.filter(customer__external_id__in=chunk).values_list(
            "customer__external_id", "effective_date"
        ):
            existing[external_id].append(day)
    ledger_rows = []
    for external_id in external_ids:
        schedules = [schedule(v) for v in versions[external_id].values()]
        for day, mrr in customer_ledger(schedules, existing[external_id]).items():
            ledger_rows.append({"customer": external_id, "effective_date": day.isoformat(), "mrr": str(mrr)})
    if not ledger_rows:
        return 0
    valid: list[dict[str, Any]] = []
    for offset in range(0, len(ledger_rows), 10_000):  # validate_rows takes at most MAX_ROWS at a time
        chunk = ledger_rows[offset : offset + 10_000]
        try:
            valid += validate_rows(MrrIngestSerializer, chunk)
        except IngestError as exc:  # a date outside 1900-2100 in Stripe's data: say which customer
            raise IngestError(
                [
                    RowError(0, e.field, f"ledger of {chunk[e.row]['customer']}: {e.message}")
                    for e in exc.errors
                ]
            ) from exc
    result = mrr_upsert(rows=valid)
    return result["created"] + result["updated"]

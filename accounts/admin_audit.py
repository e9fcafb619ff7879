"""Django admin edits land in the audit log like the app's own (docs/workspace.md#audit-log), and a change to
a health input marks its customer for the live recompute (docs/health.md#live-data).

The admin is the way in for what has no screen of its own (a typo in a pulse's note, a stray survey answer,
key features). Its saves bypass the services, so `AuditedAdmin` does what the services do, in the admin's own
transaction (Django's change and delete views run in one): an entry per created, changed or deleted row,
inline rows included (a customer's contacts, a playbook's steps, a run's tasks), with the signed-in admin as
actor; `health_input` models mark their customers dirty (all customers for a key feature). No inline here is
a health input.

Fields never logged: password hashes, token hashes and the like (`NEVER_LOGGED`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.db import models
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from . import audit
from .dirty import customers_mark_dirty
from .models import Customer, User

NEVER_LOGGED = frozenset({"password", "key_hash", "token_hash", "last_login"})


def logged_fields(model: type[models.Model]) -> list[str]:
    """The fields of `model` the log keeps: concrete and editable (not the key, not what the database or a
    timestamp keeps by itself), not a secret."""
    return [
        f.name
        for f in model._meta.concrete_fields
        if not f.primary_key
        and f.editable
        and not getattr(f, "auto_now", False)
        and not getattr(f, "auto_now_add", False)
        and f.name not in NEVER_LOGGED
    ]


def customer_id_of(obj: models.Model) -> int | None:
    """The customer a row belongs to, when it belongs to one (a contact, a pulse, a run's task)."""
    if isinstance(obj, Customer):
        return obj.pk
    customer_id = getattr(obj, "customer_id", None)
    if customer_id is not None:
        return customer_id
    run = getattr(obj, "run", None)  # a playbook run's task
    return getattr(run, "customer_id", None) if run is not None else None


def _actor(request: HttpRequest) -> User | None:
    user = getattr(request, "user", None)
    return user if isinstance(user, User) else None


class AuditedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose saves and deletes (its inlines' too) are audited; see the module docstring."""

    # A change to a row of this model changes a health factor's input: mark its customer (or, for a model
    # with no customer, every customer) dirty.
    health_input = False

    # --- the object itself --------------------------------------------------------------------------------
    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        fields = logged_fields(type(obj))
        old = type(obj)._default_manager.filter(pk=obj.pk).first() if change and obj.pk else None
        # A change logs the fields the admin changed (a time shown to the second and saved back is not one).
        changed = [name for name in fields if name in form.changed_data]
        before = audit.snapshot(old, changed) if old is not None else None
        super().save_model(request, obj, form, change)
        customer = customer_id_of(obj)
        if before is None:
            audit.record_create(actor=_actor(request), obj=obj, fields=fields, customer=customer)
        elif changed:
            audit.record_update(
                actor=_actor(request), obj=obj, before=before, fields=changed, customer=customer
            )
        self._mark(obj, old)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self._record_deletes(request, [obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        self._record_deletes(request, list(queryset))
        super().delete_queryset(request, queryset)

    def _record_deletes(self, request: HttpRequest, objs: Iterable[Any]) -> None:
        for obj in objs:
            customer = customer_id_of(obj)
            audit.record_delete(
                actor=_actor(request),
                obj=obj,
                fields=logged_fields(type(obj)),
                customer=None if isinstance(obj, Customer) else customer,
            )
            self._mark(obj, None, deleted=True)

    # --- inline rows --------------------------------------------------------------------------------------
    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        model = formset.model
        fields = logged_fields(model)
        # The rows as they are in the database before the save (the forms already hold the new values).
        olds = {
            o.pk: o
            for o in model._default_manager.filter(
                pk__in=[f.instance.pk for f in formset.initial_forms if f.instance.pk]
            )
        }
        befores = {pk: audit.snapshot(o, fields) for pk, o in olds.items()}
        deleted = [f.instance for f in formset.deleted_forms if f.instance.pk in olds]
        for obj in deleted:
            audit.record_delete(
                actor=_actor(request), obj=olds[obj.pk], fields=fields, customer=customer_id_of(olds[obj.pk])
            )
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            audit.record_create(actor=_actor(request), obj=obj, fields=fields, customer=customer_id_of(obj))
        for obj, changed_data in formset.changed_objects:  # each row's changed fields, as for the object
            changed = [name for name in fields if name in changed_data]
            if changed:
                audit.record_update(
                    actor=_actor(request),
                    obj=obj,
                    before={name: befores[obj.pk][name] for name in changed},
                    fields=changed,
                    customer=customer_id_of(obj),
                )

    # --- dirty marks --------------------------------------------------------------------------------------
    def _mark(self, obj: Any, old: Any | None, *, deleted: bool = False) -> None:
        if not self.health_input:
            return
        if isinstance(obj, Customer) and deleted:
            return  # its snapshots go with it
        if customer_id_of(obj) is None and not isinstance(obj, Customer):
            customers_mark_dirty(customer_ids=None)  # a model-wide input (a key feature): everyone
            return
        ids = {customer_id_of(obj)}
        if old is not None:
            ids.add(customer_id_of(old))  # moved to another customer: both change
        self._mark_ids(ids)

    @staticmethod
    def _mark_ids(ids: Iterable[int | None]) -> None:
        wanted = [i for i in ids if i is not None]
        if wanted:
            customers_mark_dirty(customer_ids=wanted)

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.demo import DEMO_DOMAIN, DEMO_PREFIX
from accounts.management.commands.seed_demo import demo_modules
from accounts.models import Contact, Customer, LifecycleStage, Note, Pulse, Role, Team, Touchpoint, User

pytestmark = pytest.mark.django_db


def seed(customers: int = 30, seed: int = 42) -> str:
    out = StringIO()
    call_command("seed_demo", customers=customers, seed=seed, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, list]:
    """Everything the demo made, by natural values (not ids), in a stable order."""
    return {
        "users": list(
            User.objects.order_by("email").values_list("email", "full_name", "role", "is_superuser")
        ),
        "teams": [
            (t.name, t.manager.email, sorted(m.email for m in t.members.all()))
            for t in Team.objects.select_related("manager").order_by("name")
        ],
        "customers": list(
            Customer.objects.order_by("external_id").values_list(
                "external_id",
                "name",
                "segment",
                "csm__email",
                "licenses",
                "contract_start",
                "go_live_date",
                "renewal_date",
                "lifecycle_stage",
            )
        ),
        "contacts": list(
            Contact.objects.order_by("customer__external_id", "email").values_list(
                "customer__external_id", "email", "name", "title", "unsubscribed_at"
            )
        ),
        "touchpoints": sorted(
            (
                t.customer.external_id,
                t.kind,
                t.occurred_at,
                t.sentiment,
                t.summary,
                t.author.email,
                tuple(sorted(c.email for c in t.contacts.all())),
            )
            for t in Touchpoint.objects.select_related("customer", "author").prefetch_related("contacts")
        ),
        "pulses": sorted(
            Pulse.objects.values_list("customer__external_id", "score", "note", "created_at", "author__email")
        ),
        "notes": sorted(
            Note.objects.values_list("customer__external_id", "text", "created_at", "author__email")
        ),
    }


def test_seed_creates_the_people_and_teams():
    output = seed()

    assert User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}").count() == 12
    admin = User.objects.get(role=Role.ADMIN)
    assert admin.is_superuser
    assert admin.is_staff
    assert admin.check_password("demo")
    managers = User.objects.filter(role=Role.MANAGER)
    assert managers.count() == 2
    assert sorted(m.managed_teams.count() for m in managers) == [1, 2]
    csms = User.objects.filter(role=Role.CSM)
    assert csms.count() == 9
    assert all(u.check_password("demo") and u.full_name.count(" ") == 1 for u in csms)
    assert {t.name: t.members.count() for t in Team.objects.all()} == {
        "Enterprise": 3,
        "Mid-Market": 3,
        "Growth/SMB": 3,
    }
    for user in User.objects.all():
        assert user.email in output  # the logins are printed at the end


def test_seed_creates_a_believable_book():
    seed(customers=30)
    today = timezone.localdate()

    customers = Customer.objects.all()
    assert customers.count() == 30
    assert all(c.external_id.startswith(DEMO_PREFIX) for c in customers)
    assert len({c.name for c in customers}) == 30
    assert {c.segment for c in customers} == {"SMB", "Mid-Market", "Enterprise"}
    assert customers.filter(csm=None).exists()
    for c in customers:
        assert c.contract_start <= today
        assert c.go_live_date is None or 14 <= (c.go_live_date - c.contract_start).days <= 70
        if c.lifecycle_stage == LifecycleStage.CHURNED:
            assert c.renewal_date < today
        else:
            assert today < c.renewal_date <= today + dt.timedelta(days=366)
        if c.lifecycle_stage == LifecycleStage.AT_RENEWAL:
            assert (c.renewal_date - today).days < 60
        if c.csm is not None:  # each CSM works the segment of their team
            assert c.csm.teams.get().name.endswith(c.segment.replace("SMB", "Growth/SMB"))
        assert 2 <= c.contacts.count() <= 5
    assert {s for s in customers.values_list("lifecycle_stage", flat=True)} >= {"onboarding", "mature"}

    kinds = set(Touchpoint.objects.values_list("kind", flat=True))
    assert {"call", "meeting", "email", "qbr"} <= kinds
    assert len(kinds) >= 6
    assert set(Touchpoint.objects.values_list("sentiment", flat=True)) == {"positive", "neutral", "negative"}
    assert not Touchpoint.objects.filter(occurred_at__gt=timezone.now()).exists()
    assert not Touchpoint.objects.filter(occurred_at__lt=timezone.now() - dt.timedelta(days=367)).exists()
    assert not any("{" in s for s in Touchpoint.objects.values_list("summary", flat=True))
    assert Pulse.objects.values("score").distinct().count() >= 3
    assert Touchpoint.contacts.through.objects.exists()

    notes = Note.objects.select_related("customer")
    assert notes.values("customer").distinct().count() >= 15  # most customers have some
    assert not any("{" in n.text for n in notes)
    assert not notes.filter(created_at__gt=timezone.now()).exists()
    assert all(n.author is not None for n in notes)
    assert notes.count() > notes.values("customer").distinct().count()  # some carry several


def test_seed_is_idempotent():
    seed()
    first = snapshot()

    output = seed()

    assert snapshot() == first
    assert "touchpoints: 0 new; pulses: 0 new" in output
    assert "notes: 0 new" in output


def test_seed_is_deterministic_on_a_fresh_database():
    seed()
    first = snapshot()
    Customer.objects.all().delete()
    Team.objects.all().delete()
    User.objects.all().delete()

    seed()

    assert snapshot() == first


def test_a_customer_is_the_same_whatever_the_number_seeded():
    seed(customers=10)
    ten = snapshot()

    seed(customers=25)

    assert Customer.objects.count() == 25
    assert snapshot()["customers"][:10] == ten["customers"]


def test_another_seed_makes_another_company():
    seed(seed=42)
    names = set(Customer.objects.values_list("name", flat=True))
    Customer.objects.all().delete()

    seed(seed=7)

    assert set(Customer.objects.values_list("name", flat=True)) != names


def test_second_run_repairs_what_was_deleted_and_keeps_changes():
    seed()
    first = snapshot()
    customer = Customer.objects.get(external_id="DEMO-0003")
    customer.touchpoints.all().delete()
    customer.notes.all().delete()
    customer.contacts.order_by("email").first().delete()
    renamed = Customer.objects.get(external_id="DEMO-0004")
    renamed.name = "Renamed by a curious visitor"
    renamed.save()

    seed()

    after = snapshot()
    assert after["touchpoints"] == first["touchpoints"]
    assert after["notes"] == first["notes"]
    assert after["contacts"] == first["contacts"]
    assert Customer.objects.get(external_id="DEMO-0004").name == "Renamed by a curious visitor"


def test_seed_runs_the_demo_module_of_every_project_app_in_order():
    labels = [label for label, _ in demo_modules()]

    assert labels[0] == "accounts"
    assert set(labels) <= {"accounts", "surveys", "metrics", "playbooks"}
    order = ["accounts", "surveys", "metrics", "playbooks"]
    assert labels == sorted(labels, key=order.index)


def test_seed_refuses_zero_customers():
    with pytest.raises(CommandError, match="at least 1"):
        seed(customers=0)


def test_seed_leaves_a_backtest_of_the_model_in_force_for_the_model_page():
    """A new demo's model page shows "Does vN predict churn?" at once. The demo's usage covers its last 90
    days only, so on the backtest's as-of dates (all 90 days back or more) the install had no usage feed:
    the usage factors are missing (coverage 0), not 0 for everyone (which flagged 95 % of the base)."""
    from metrics.health.backtest_jobs import backtest_job_latest_of_model
    from metrics.models import HealthBacktestJob, HealthModel, RecomputeState

    output = seed()
    model = HealthModel.objects.current()
    job = backtest_job_latest_of_model(model=model)
    assert job is not None
    assert job.state == RecomputeState.DONE
    assert f"backtest of v{model.version}" in output
    thirty = job.result["horizons"][0]
    assert thirty["horizon"] == 30
    coverage = {f["factor"]: f["coverage"] for f in thirty["factors"]}
    assert coverage["license_utilization"] == 0.0
    assert coverage["relative_usage"] == 0.0
    assert coverage["pulse"] > 0.5
    seed()  # idempotent: the finished backtest is kept
    assert HealthBacktestJob.objects.count() == 1

"""The backtest page in Chromium (docs/health.md#backtest-page-and-job): a job at work shows its progress bar,
htmx polls it, and once the worker has finished the report's tables and calibration chart appear in place."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.health.backtest_jobs import backtest_job_run
from metrics.health.services import health_model_create
from metrics.models import HealthBacktestJob
from tests.factories import CustomerFactory, MrrEntryFactory, PulseFactory
from tests.metrics.health.conftest import at

from .conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

D = dt.date
AS_OF = [D(2026, m, 1) for m in range(1, 7)]


def history() -> object:
    """A pulse-only model and 40 customers over six month starts: the lower the pulse, the likelier the
    churn, so the calibration chart makes a staircase."""
    model = health_model_create(
        factors=[{"key": "pulse", "weight": 100, "bad": 1.0, "good": 5.0, "enabled": True}],
        green=70,
        yellow=40,
        margin=3,
        note="pulse only (e2e)",
    )
    for i in range(40):
        customer = CustomerFactory(name=f"Customer {i:02d}")
        pulse = 1 + i % 5
        MrrEntryFactory(customer=customer, effective_date=D(2025, 6, 1), mrr=100)
        if (pulse <= 2 and i % 3 != 2) or i == 39:
            MrrEntryFactory(customer=customer, effective_date=D(2026, 2 + i % 5, 10 + i % 7), mrr=0)
        for day in AS_OF:
            PulseFactory(customer=customer, score=pulse, created_at=at(day - dt.timedelta(days=1 + i % 9)))
    return model


def test_manager_watches_a_backtest_finish_and_reads_its_calibration_chart(
    page, manager, console_errors, screenshot
):
    model = history()
    job = HealthBacktestJob.objects.create(
        start=AS_OF[0], end=AS_OF[-1], model=model, horizons=[30, 60, 90], requested_by=manager
    )
    log_in(page, manager.email, "pass-1234-word")
    page.goto(f"/health/backtest/?job={job.pk}")
    page.locator("[data-testid='backtest-running'] progress").wait_for()
    assert "Waiting for a worker" in page.inner_text("[data-testid='backtest-running']")

    backtest_job_run(job_id=job.pk)  # the worker's part, here; the page's polling picks the result up
    page.locator("[data-testid='backtest-report']").wait_for()
    chart = page.locator("canvas[data-testid='calibration-chart']")
    chart.wait_for()
    page.wait_for_function("document.querySelector(\"canvas[data-calibration]\").dataset.drawn === '1'")
    assert page.locator("[data-testid='backtest-auc'] tbody tr").count() == 3
    assert "CSM pulse" in page.inner_text("[data-testid='backtest-factors']")
    assert chart.bounding_box()["height"] > 200
    screenshot(page, "health-backtest")

    page.goto("/health/model/")  # the model page shows the version's latest backtest
    job.refresh_from_db()
    auc_30 = job.result["horizons"][0]["auc"]
    assert page.inner_text("[data-testid='model-backtest-auc']") == f"{auc_30:.2f}"
    screenshot(page, "health-model-backtest", full_page=False)
    assert console_errors == []


def test_admin_reads_a_fit_proposal_and_opens_it_in_the_editor(page, admin_user, console_errors, screenshot):
    from metrics.health.services import health_model_current
    from metrics.models import BacktestKind, HealthModel
    from tests.metrics.health.test_fitting import build

    health_model_current()  # the default model (a transactional test starts from a flushed database)
    build(150)
    versions = HealthModel.objects.count()
    job = HealthBacktestJob.objects.create(
        kind=BacktestKind.FIT, start=AS_OF[0], end=AS_OF[-1], model=HealthModel.objects.current()
    )
    backtest_job_run(job_id=job.pk)
    log_in(page, admin_user.email, "pass-1234-word")
    page.goto(f"/health/model/fit/{job.pk}/")
    page.locator("[data-testid='fit-proposal']").wait_for()
    screenshot(page, "health-fit-proposal")
    page.locator("[data-testid='fit-open-editor']").click()
    page.locator("[data-testid='fit-loaded']").wait_for()
    proposed = {f["key"]: f for f in job.__class__.objects.get(pk=job.pk).result["model"]["factors"]}
    assert float(page.input_value("input[name='pulse-weight']")) == proposed["pulse"]["weight"]
    assert page.input_value("input[name='note']").startswith("Fitted on 2026-01-01")
    page.click("button[value='preview']")
    page.locator("[data-testid='health-preview']").wait_for()
    screenshot(page, "health-fit-editor", full_page=False)
    assert HealthModel.objects.count() == versions  # only a save makes it a version
    assert console_errors == []

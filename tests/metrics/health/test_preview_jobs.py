"""The model editor's preview as a background job: started by the POST, polled by the page, readable only by
the user who started it, and failing visibly (never a page that hangs)."""

from __future__ import annotations

import json
import re
import time

import pytest

from metrics import tasks
from metrics.health import preview_jobs
from metrics.health.engine import FactorConfig, ModelConfig
from metrics.health.preview_jobs import config_from_dict, config_to_dict, preview_run
from metrics.health.services import health_model_current
from tests.conftest import client_for
from tests.factories import CustomerFactory, PulseFactory

from .conftest import at, usage
from .test_views import TODAY, URL, form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """Tasks queued but not run yet (as with a busy worker): the arguments each .delay() got."""
    sent: list[tuple] = []
    monkeypatch.setattr(tasks.health_model_preview_run, "delay", lambda *args: sent.append(args))
    return sent


def start(client) -> tuple[str, str]:
    customer = CustomerFactory(name="Greenfield", licenses=10)
    usage(customer, users=10, day=TODAY)
    PulseFactory(customer=customer, score=5, created_at=at(TODAY))
    data = form_data(
        health_model_current(),
        **{"pulse-bad": "5", "pulse-good": "10", "pulse-weight": "50", "action": "preview"},
    )
    html = client.post(URL, data).content.decode()
    poll = re.search(r'hx-get="(/health/model/preview/[^/"]+/)"', html)
    assert poll is not None, "the running card polls its job"
    return html, poll.group(1)


def test_preview_runs_in_the_background_and_the_page_polls_for_it(manager_client, queued):
    html, poll = start(manager_client)
    assert 'data-testid="health-preview-running"' in html
    assert 'data-testid="health-preview"' not in html
    assert len(queued) == 1

    running = manager_client.get(poll, HTTP_HX_REQUEST="true")
    assert running.status_code == 200
    assert "<html" not in running.content.decode()
    assert 'data-testid="health-preview-running"' in running.content.decode()
    assert running["Cache-Control"] == "no-store"

    key, current, proposal = queued[0]
    json.dumps([key, current, proposal])  # what Celery will carry: plain JSON
    assert preview_run(key=key, current=current, proposal=proposal) == "done"

    done = manager_client.get(poll, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="health-preview"' in done
    assert "Greenfield" in done  # green today, yellow with the proposal
    assert "hx-get" not in done  # polling stops
    page = manager_client.get(poll)  # without JavaScript: a page of its own
    assert "<h1>Health model preview</h1>" in page.content.decode()
    assert 'http-equiv="refresh"' not in page.content.decode()


def test_a_running_preview_page_reloads_itself_without_javascript(manager_client, queued):
    _, poll = start(manager_client)
    assert 'http-equiv="refresh"' in manager_client.get(poll).content.decode()


def test_only_the_user_who_started_a_preview_can_read_it(
    manager_client, admin_client, csm_client, other_manager, queued
):
    _, poll = start(manager_client)
    assert client_for(other_manager).get(poll).status_code == 404
    assert admin_client.get(poll).status_code == 404  # not theirs either
    assert csm_client.get(poll).status_code == 403
    assert manager_client.get("/health/model/preview/not-a-key/").status_code == 404


def test_anonymous_is_sent_to_login(client, queued):
    response = client.get("/health/model/preview/whatever/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_failed_preview_says_so(manager_client, queued, monkeypatch):
    _, poll = start(manager_client)
    key, current, proposal = queued[0]

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(preview_jobs, "health_model_preview", broken)
    assert preview_run(key=key, current=current, proposal=proposal) == "failed"
    html = manager_client.get(poll, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="health-preview-failed"' in html
    assert "hx-get" not in html


def test_a_job_stuck_for_too_long_counts_as_failed(manager_client, queued, monkeypatch):
    _, poll = start(manager_client)
    later = time.time() + preview_jobs.GIVE_UP_SECONDS + 1
    monkeypatch.setattr(preview_jobs.time, "time", lambda: later)
    assert (
        'data-testid="health-preview-failed"'
        in manager_client.get(poll, HTTP_HX_REQUEST="true").content.decode()
    )


def test_model_config_survives_the_trip_through_json():
    config = ModelConfig(
        factors=(FactorConfig("pulse", 15.0, 1.0, 5.0), FactorConfig("nps", 10.0, -50.0, 50.0, False)),
        green=72.5,
        yellow=41.0,
        margin=2.0,
        version=3,
        model_id=7,
    )
    assert config_from_dict(json.loads(json.dumps(config_to_dict(config)))) == config

"""Schema fuzzing of the whole API (docs/api.md#schema-fuzzing): schemathesis generates requests from our
OpenAPI schema, 30 examples per operation, as an admin and as a CSM, and every answer must be no server
error and conform to the schema. The run's counts land in test-artifacts/schema-fuzz.json."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.models import Role
from accounts.tokens import api_token_create
from tests.factories import CustomerFactory, UserFactory

# In CI's PostgreSQL pass (the `services` marker): PostgreSQL is where text the API lets through could still
# fail (it refuses NUL), and one pass keeps CI's time; `make test` on a laptop runs it on SQLite too.
pytestmark = [pytest.mark.django_db, pytest.mark.services]

EXAMPLES = int(os.environ.get("CSHUB_FUZZ_EXAMPLES", "30"))
ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "schema-fuzz.json"
COUNTS: Counter = Counter()


@pytest.fixture(scope="module")
def openapi() -> dict:
    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))


@pytest.fixture
def api_schema(openapi):
    loaded = schemathesis.openapi.from_dict(openapi)
    loaded.app = WSGIHandler()
    # The WSGI handler closes "old" connections when a request starts, which would end the test's
    # transaction; Django's test client disconnects the same signal.
    request_started.disconnect(close_old_connections)
    yield loaded
    request_started.connect(close_old_connections)


@pytest.fixture
def tokens(db, settings) -> dict[str, str]:
    settings.CSHUB_API_BAD_TOKEN_LIMIT = 10**9  # nothing to do with the fuzz: keep the door open
    settings.ALLOWED_HOSTS = ["localhost"]  # the host schemathesis' WSGI client sends
    admin = UserFactory(email="fuzz.admin@example.com", role=Role.ADMIN)
    csm = UserFactory(email="fuzz.csm@example.com", role=Role.CSM)
    CustomerFactory(external_id="NW-1", csm=csm)
    return {
        "admin": api_token_create(user=admin, name="fuzz")[1],
        "csm": api_token_create(user=csm, name="fuzz")[1],
    }


schema = schemathesis.pytest.from_fixture("api_schema")
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


def call_and_check(case, key: str) -> None:
    response = case.call(headers={"Authorization": f"Token {key}"})
    COUNTS["cases"] += 1
    COUNTS[f"status_{response.status_code}"] += 1
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])


@schema.parametrize()
@FUZZ
def test_api_fuzzed_as_an_admin_answers_no_5xx_within_its_schema(case, tokens):
    call_and_check(case, tokens["admin"])


@schema.parametrize()
@FUZZ
def test_api_fuzzed_as_a_csm_answers_no_5xx_within_its_schema(case, tokens):
    call_and_check(case, tokens["csm"])


def teardown_module(module) -> None:
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(json.dumps(dict(COUNTS), indent=2, sort_keys=True) + "\n")

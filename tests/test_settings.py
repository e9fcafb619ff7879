"""Production settings: `check --deploy` is clean with the README's production variables, and the project
refuses to start in production mode without a secret key. Each runs manage.py in a fresh process, because
settings are read once per process (and this one runs with the test settings)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

# The README's "Production" table, with example values. Nothing here is contacted: `check --deploy` does not
# open a database connection, so unresolvable hosts prove it.
PRODUCTION_ENV = {
    "SECRET_KEY": "k3v9-Qx7_rT2mZp8LwB4nY6sD1fH0jC5gE" * 2,
    "ALLOWED_HOSTS": "cshub.example.com",
    "SITE_URL": "https://cshub.example.com",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "DATABASE_URL": "postgres://cshub:secret@db.invalid:5432/cshub",
    "REDIS_URL": "redis://redis.invalid:6379/0",
    "EMAIL_URL": "smtp://mail.invalid:587",
}

# A developer's .env (read by settings.py) must not leak into these runs; everything comes from `env`.
NO_DOTENV = "import environ; environ.Env.read_env = staticmethod(lambda *a, **k: None); "


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    code = (
        NO_DOTENV
        + f"import sys; sys.argv = ['manage.py', *{list(args)!r}]; import runpy; "
        + ("runpy.run_path('manage.py', run_name='__main__')")
    )
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py, fixed arguments
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "CSHUB_TESTING": "0", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_the_production_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_leaves_only_the_subdomain_choices_to_the_operator():
    # HSTS for subdomains and preload-list submission depend on the operator's other sites: not our call.
    env = {k: v for k, v in PRODUCTION_ENV.items() if not k.startswith("SECURE_HSTS_")}
    env["SECURE_HSTS_SECONDS"] = "31536000"

    result = manage("check", "--deploy", env=env)

    assert result.returncode == 0, result.stderr
    warnings = {
        line.split(")")[0].split("(")[-1] for line in result.stderr.splitlines() if "(security." in line
    }
    assert warnings == {"security.W005", "security.W021"}, result.stderr


def test_refuses_to_start_without_secret_key_when_debug_is_off():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "Set the SECRET_KEY environment variable" in result.stderr


def test_refuses_to_start_with_an_empty_secret_key():
    result = manage("check", env={**PRODUCTION_ENV, "SECRET_KEY": ""})

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_debug_runs_without_secret_key():
    result = manage("check", env={"DEBUG": "1"})

    assert result.returncode == 0, result.stderr


# --- The production files: docker-compose.yml and Dockerfile (no Docker engine needed to check these) ---


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_every_part_of_cshub_with_health_checks():
    services = compose()["services"]

    assert set(services) == {"migrate", "web", "worker", "beat", "postgres", "redis", "mailpit"}
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")
    assert "gunicorn" in Path(ROOT / "Dockerfile").read_text()
    assert services["worker"]["command"][:4] == ["celery", "-A", "cshub", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "cshub", "beat"]
    for name in ("web", "worker", "postgres", "redis", "mailpit"):
        assert services[name]["healthcheck"]["test"], name
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]


def test_compose_starts_the_app_only_after_migrations_succeeded():
    services = compose()["services"]

    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--no-input"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name


def test_compose_gives_every_app_container_the_same_settings():
    services = compose()["services"]
    env = services["migrate"]["environment"]

    assert env["DATABASE_URL"].startswith("postgres://")
    assert "@postgres:5432/" in env["DATABASE_URL"]
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["EMAIL_URL"] == "${EMAIL_URL:-smtp://mailpit:1025}"
    assert env["SECRET_KEY"] == "${SECRET_KEY:-}"  # no default secret: empty makes the app refuse to start
    for name in ("web", "worker", "beat"):
        assert services[name]["environment"].items() >= env.items(), name


def test_dockerfile_builds_a_non_root_image_with_collected_static_files():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]

    assert [line for line in lines if line.startswith("FROM")] == ["FROM python:3.11-slim"]
    assert any("collectstatic" in line and "SECRET_KEY=" in line for line in lines)
    user = [line for line in lines if line.startswith("USER ")]
    assert user
    assert user[-1] != "USER root"
    dockerignore = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git", "db.sqlite3*"} <= set(dockerignore)


@pytest.mark.django_db
def test_a_403_is_logged_once_without_a_traceback(csm_client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert csm_client.get("/team/").status_code == 403
    refusals = [r for r in caplog.records if r.name == "django.request"]
    assert [r.getMessage() for r in refusals] == ["Forbidden (Permission denied): /team/"]
    assert refusals[0].exc_info is None
    # One handler writes it: Django's own console handler (under DEBUG) no longer repeats the root's.
    assert logging.getLogger("django").handlers == []
    assert logging.getLogger("django").propagate

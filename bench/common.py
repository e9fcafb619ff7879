"""What every benchmark does first: a throwaway PostgreSQL database of its own, then Django on it."""

from __future__ import annotations

import os
import sys
from urllib.parse import urlparse, urlunparse


def recreate_database(*, script: str, default_name: str) -> str:
    """Drop and create the benchmark's own database (BENCH_DB or `default_name`); return its URL."""
    url, _ = open_database(script=script, default_name=default_name, reuse_env="")
    return url


def open_database(
    *, script: str, default_name: str, db_env: str = "BENCH_DB", reuse_env: str = "BENCH_REUSE"
) -> tuple[str, bool]:
    """The benchmark's own database (named by `db_env`, else `default_name`): kept as it is when `reuse_env`
    is "1" and it exists (a filled database to measure again), else dropped and created. Returns its URL and
    whether it was kept."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"{script} needs DATABASE_URL pointing at PostgreSQL (it creates its own database there)")
    import psycopg

    parsed = urlparse(url)
    name = os.environ.get(db_env, default_name)
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    reuse = bool(reuse_env) and os.environ.get(reuse_env) == "1"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not (reuse and exists):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
            reuse = False
    return urlunparse(parsed._replace(path=f"/{name}")), reuse


def setup_django(url: str) -> None:
    """Django on `url` as the test client needs it (not in test mode), migrated."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "1")
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ.setdefault("CSHUB_TESTING", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cshub.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

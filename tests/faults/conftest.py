"""Fault injection (docs/operations.md#failure-rules): a Redis of the test's own, on a free port, that the
test stops, pauses (SIGSTOP: a hung broker that still accepts connections) and restarts; Celery pointed at it;
a real worker thread. PostgreSQL only (the locks and concurrency are PostgreSQL's), marked `services`."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.requirements import _missing, require_postgres

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server process on its own port; stop/start keep the port, pause/resume freeze it."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own redis-server, fixed arguments
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.resume()
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def pause(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGCONT)


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    require_postgres()
    if not os.path.exists(REDIS_SERVER):
        _missing("redis-server is not installed (apt-get install -y redis-server)")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _reset_connections(app) -> None:
    """Forget the app's broker pool and result backend, so the next use connects to the current URLs. The
    pools themselves stay open: kombu keeps them in a registry by URL, shared with the other tests."""
    app._pool = None
    app.amqp._producer_pool = None
    app._backend_cache = None
    if hasattr(app._local, "backend"):
        del app._local.backend


@contextmanager
def celery_on(url: str, settings) -> Iterator[object]:
    """Celery (broker, results) and the cache on `url`, eager mode off: what the web and the workers of a
    production install see."""
    from cshub.celery import app

    names = ("broker_url", "broker_read_url", "broker_write_url", "result_backend", "task_always_eager")
    saved = {name: app.conf[name] for name in names}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_timeout": 1.0, "socket_connect_timeout": 1.0},
        }
    }
    # (Django's setting_changed handler starts new cache connections from the new CACHES.)
    app.conf.update(
        broker_url=url, broker_read_url=url, broker_write_url=url, result_backend=url, task_always_eager=False
    )
    _reset_connections(app)
    try:
        yield app
    finally:
        app.conf.update(saved)
        _reset_connections(app)


@pytest.fixture
def celery_app(redis_server, settings):
    with celery_on(redis_server.url, settings) as app:
        yield app


@contextmanager
def worker(app) -> Iterator[None]:
    """A real Celery worker thread (solo pool) on the app's broker."""
    from celery.contrib.testing.worker import start_worker

    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10):
        yield


def wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")

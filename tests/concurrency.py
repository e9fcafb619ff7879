"""Two database sessions in threads, for the PostgreSQL locking tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction


def waits_while_held(hold: Callable[[], Any], then: Callable[[], Any]) -> bool:
    """Run `hold` in a transaction left open in one thread, start `then` in another, and report whether
    `then` was still waiting a second later; then commit `hold`, let `then` finish and fail on any error."""
    started, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def holder() -> None:
        try:
            with transaction.atomic():
                hold()
                started.set()
                release.wait(10)
        except BaseException as exc:
            errors.append(exc)
        finally:
            started.set()
            connection.close()

    def follower() -> None:
        try:
            then()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    first = threading.Thread(target=holder)
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=follower)
    second.start()
    second.join(1.0)
    waited = second.is_alive()
    release.set()
    first.join(10)
    second.join(10)
    assert not errors
    return waited

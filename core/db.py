"""Reads from a read replica where it is safe (docs/operations.md#read-replica).

A replica lags the primary by a moment, so cshub does not send every read there (a page that writes and then
reads would miss its own write). Instead, reads go to the replica only inside a `reads_from_replica()` scope
(a context manager and view decorator), which the read-only dashboard pages, their APIs and the CSV exports
enter, and even there a read stays on the primary when

- the primary has a transaction open (whatever runs inside it must see that transaction's writes), or
- something in the scope has already written through the ORM (read-your-writes for the rest of the scope).

Writes always go to the primary. Without settings.CSHUB_REPLICA_ALIAS (no DATABASE_REPLICA_URL) everything
uses `default`. A replica that cannot be reached is not an outage: a scope that starts while it is down
(its connection refused) reads from the primary, and for REPLICA_RETRY_SECONDS no scope tries it again.
Raw SQL that should follow the same rule takes its connection from `reader()` instead of
`django.db.connection`; a raw write keeps `django.db.connection`.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)

REPLICA_RETRY_SECONDS = 30.0
_down_until = 0.0  # time.monotonic() before which the replica is taken as down (this process)
_down_lock = threading.Lock()


@dataclass
class _Scope:
    wrote: bool = False
    replica_down: bool = False


_scope: ContextVar[_Scope | None] = ContextVar("cshub_replica_scope", default=None)


def replica_alias() -> str:
    """The replica's database alias, or "" when none is configured."""
    return settings.CSHUB_REPLICA_ALIAS


def read_alias() -> str:
    """The alias a read uses now: the replica inside a reads_from_replica scope that has not written, while
    the primary has no transaction open; `default` otherwise."""
    alias = replica_alias()
    scope = _scope.get()
    if (
        not alias
        or scope is None
        or scope.wrote
        or scope.replica_down
        or connections[DEFAULT_DB_ALIAS].in_atomic_block
    ):
        return DEFAULT_DB_ALIAS
    return alias


def replica_reachable() -> bool:
    """Whether the replica can be read now: its connection is open or opens (at most one attempt per
    REPLICA_RETRY_SECONDS in this process after a refusal). False without a replica."""
    global _down_until
    alias = replica_alias()
    if not alias:
        return False
    if time.monotonic() < _down_until:
        return False
    connection = connections[alias]
    if connection.connection is not None:
        return True
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        with _down_lock:
            _down_until = time.monotonic() + REPLICA_RETRY_SECONDS
        logger.warning(
            "replica %r unreachable, reading from the primary for %ss: %s", alias, REPLICA_RETRY_SECONDS, exc
        )
        return False
    return True


def replica_retry_now() -> None:
    """Forget a refusal: the next scope tries the replica again (tests; after a replica came back)."""
    global _down_until
    _down_until = 0.0


def reader() -> BaseDatabaseWrapper:
    """The connection raw-SQL reads use now (see read_alias)."""
    return connections[read_alias()]


@contextmanager
def _replica_scope() -> Iterator[None]:
    # A nested scope shares the outer one: a write anywhere in it keeps the rest on the primary.
    outer = _scope.get()
    if outer is None:
        outer = _Scope(replica_down=bool(replica_alias()) and not replica_reachable())
    token = _scope.set(outer)
    try:
        yield
    finally:
        _scope.reset(token)


F = TypeVar("F", bound=Callable[..., Any])


class _ReadsFromReplica:
    """`with reads_from_replica():`, or `@reads_from_replica()` on a view, a view method or any function."""

    def __enter__(self) -> None:
        self._cm = _replica_scope()
        self._cm.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._cm.__exit__(*exc)

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            request = _request_of(args)
            user = getattr(request, "user", None)
            if user is not None:
                # Who is signed in is read from the primary, outside the scope (evaluating the lazy user): a
                # session created a moment ago may not have reached the replica yet.
                _ = user.is_authenticated
            with _replica_scope():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def _request_of(args: tuple[Any, ...]) -> Any:
    for arg in args[:2]:  # a function view's request, or a method's (self, request)
        if hasattr(arg, "method") and hasattr(arg, "META"):
            return arg
    return None


def reads_from_replica() -> _ReadsFromReplica:
    """A scope in which reads may go to the replica (see the module docstring)."""
    return _ReadsFromReplica()


T = TypeVar("T")


def iterate_from_replica(items: Iterable[T]) -> Iterator[T]:
    """`items` (a lazy queryset iterator, a generator) advanced inside a replica scope, item by item: a
    streamed export reads after its view has returned, so the view's scope no longer holds."""
    iterator = iter(items)
    while True:
        with _replica_scope():
            try:
                item = next(iterator)
            except StopIteration:
                return
        yield item


class ReplicaRouter:
    """settings.DATABASE_ROUTERS: reads per read_alias, writes (and migrations) on the primary."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: type, **hints: Any) -> str:
        scope = _scope.get()
        if scope is not None:
            scope.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the replica holds the primary's rows

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS

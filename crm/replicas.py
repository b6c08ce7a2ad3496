"""Read replicas: which database answers a read.

Replicas are configured by ``MYSQL_REPLICA_HOSTS`` or ``DATABASE_REPLICA_URLS`` (aliases
``replica1``, ``replica2``, ... in ``settings.REPLICA_DATABASES``). The rules:

- Every write goes to the primary (``default``), and so does every read of a project-owned
  table: users, groups, permissions and tokens (grants), sessions, idempotency keys, change
  history. Only the four CRM tables (``LEGACY_MODELS``) are ever read from a replica.
- Only safe API requests (``GET``/``HEAD``/``OPTIONS`` under ``/api/``) read from a replica.
  The admin, management commands and the shell read the primary; so does any read inside a
  transaction, and every read of a request once it has written.
- Read-your-writes across requests: a user's write request leaves a mark in the shared
  cache for ``READ_YOUR_WRITES_SECONDS`` (5 s); while it is there, that user's reads go to
  the primary, on every instance. When the cache cannot be asked, reads go to the primary.
- A replica is used only while it is healthy: it answers, and it is at most
  ``REPLICA_MAX_LAG_SECONDS`` (10 s) behind, from ``SHOW REPLICA STATUS`` (``SHOW SLAVE
  STATUS`` on older servers), checked at most every ``REPLICA_CHECK_SECONDS`` (3 s) per
  process. When replication is stopped the server reports no lag; its data is then as old as
  the time since it was last seen replicating, and it is dropped once that passes the limit.
  With no healthy replica, reads go to the primary. None of this is ever an error answer.

A request picks its database at its first read of a CRM table and keeps it, so one response
never mixes two replicas; ``X-Read-From: replica|primary`` says which one answered.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import random
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_finished
from django.db import ProgrammingError, connections

from .models import LEGACY_MODELS

logger = logging.getLogger("crm.replicas")

PRIMARY = "default"
REPLICA_READ_MODELS = frozenset(LEGACY_MODELS)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RECENT_WRITE_KEY = "crm:wrote:%s"
LAG_COLUMNS = ("Seconds_Behind_Source", "Seconds_Behind_Master")


def replica_aliases() -> list[str]:
    return list(getattr(settings, "REPLICA_DATABASES", ()))


# --- Replica health ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplicaStatus:
    state: str  # "ok", "lagging", "replication stopped", "unavailable"
    lag_seconds: float | None
    healthy: bool
    checked_at: float  # time.monotonic()


_statuses: dict[str, ReplicaStatus] = {}
# alias -> (monotonic time it was last seen replicating, its lag then): how old its data is
# once replication stops.
_last_replicating: dict[str, tuple[float, float]] = {}
_checking: set[str] = set()
_lock = threading.Lock()


def replication_lag(connection) -> float | None:
    """Seconds the server is behind its primary; 0 for a server that replicates from nothing;
    None when replication is not running (stopped, broken, or cannot be read)."""
    if connection.vendor != "mysql":
        return 0.0  # no replication status to ask; the alias is trusted as configured
    with connection.cursor() as cursor:
        try:
            cursor.execute("SHOW REPLICA STATUS")
        except ProgrammingError:
            # MySQL before 8.0.22 and MariaDB before 10.5.1 know only the old name.
            cursor.execute("SHOW SLAVE STATUS")
        columns = [column[0] for column in cursor.description or ()]
        rows = cursor.fetchall()
    if not rows:
        return 0.0  # not a replica of anything (e.g. an Aurora reader): nothing to lag behind
    index = next((columns.index(name) for name in LAG_COLUMNS if name in columns), None)
    if index is None:
        return None
    lags = [row[index] for row in rows]
    if any(lag is None for lag in lags):
        return None
    return float(max(lags))


def _check(alias: str) -> ReplicaStatus:
    now = time.monotonic()
    connection = connections[alias]
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        lag = replication_lag(connection)
    except Exception as exc:  # any driver error: the replica is simply not used
        logger.warning("replica %s unavailable: %s", alias, exc)
        _close_quietly(connection)
        return ReplicaStatus("unavailable", None, False, now)
    limit = settings.REPLICA_MAX_LAG_SECONDS
    if lag is not None:
        _last_replicating[alias] = (now, lag)
        return ReplicaStatus("ok" if lag <= limit else "lagging", lag, lag <= limit, now)
    seen = _last_replicating.get(alias)
    if seen is None:
        return ReplicaStatus("replication stopped", None, False, now)
    stale = seen[1] + (now - seen[0])
    return ReplicaStatus("replication stopped", stale, stale <= limit, now)


def _close_quietly(connection) -> None:
    # So the next request reconnects. Nothing opens a transaction on a replica; a connection
    # inside one is shared with the primary (as in the tests), whose block ends it. Closing a
    # broken connection may fail too; it is gone either way.
    if not connection.in_atomic_block:
        with contextlib.suppress(Exception):
            connection.close()


def replica_status(alias: str, *, fresh: bool = False) -> ReplicaStatus:
    """The replica's state, checked again when older than REPLICA_CHECK_SECONDS (or ``fresh``)."""
    current = _statuses.get(alias)
    if current is not None and not fresh:
        if time.monotonic() - current.checked_at < settings.REPLICA_CHECK_SECONDS:
            return current
        with _lock:
            if alias in _checking:
                return current  # another thread of this process is asking right now
            _checking.add(alias)
    try:
        status = _check(alias)
    finally:
        with _lock:
            _checking.discard(alias)
    _record(alias, status)
    return status


def _record(alias: str, status: ReplicaStatus) -> None:
    previous = _statuses.get(alias)
    _statuses[alias] = status
    if previous is None or previous.healthy != status.healthy or previous.state != status.state:
        lag = "unknown" if status.lag_seconds is None else f"{status.lag_seconds:.1f}s"
        logger.log(
            logging.INFO if status.healthy else logging.WARNING,
            "replica %s: %s (lag %s), %s",
            alias,
            status.state,
            lag,
            "serving reads" if status.healthy else "reads go to the primary",
        )


def mark_unavailable(alias: str) -> None:
    _record(alias, ReplicaStatus("unavailable", None, False, time.monotonic()))


def reset_statuses() -> None:
    """Forget every replica's state (tests; a process starts with none)."""
    _statuses.clear()
    _last_replicating.clear()


def _connection_answers(alias: str) -> bool:
    """This thread's connection to the replica works (Django's health check, once per request)."""
    connection = connections[alias]
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except Exception as exc:  # a replica that died since its last check
        logger.warning("replica %s unavailable: %s", alias, exc)
        _close_quietly(connection)
        mark_unavailable(alias)
        return False
    return True


def healthy_replica() -> str | None:
    """A healthy replica that answers, or None."""
    candidates = [alias for alias in replica_aliases() if replica_status(alias).healthy]
    random.shuffle(candidates)
    return next((alias for alias in candidates if _connection_answers(alias)), None)


# --- Read-your-writes ------------------------------------------------------------------------


def _user_id(request) -> int | None:
    # DRF sets the authenticated user on the Django request too; the session's user is lazy.
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return user.pk


def wrote_recently(request) -> bool:
    """The request's user wrote within READ_YOUR_WRITES_SECONDS, or the cache cannot say.

    A write made while the cache was down left no mark, and a restarted Redis has lost every
    mark: for READ_YOUR_WRITES_SECONDS after the cache last failed, everyone reads the primary.
    """
    user_id = _user_id(request)
    if user_id is None:
        return False
    from .cache import cache_failed_within

    marked = cache.get(RECENT_WRITE_KEY % user_id)
    return marked is not None or cache_failed_within(cache, settings.READ_YOUR_WRITES_SECONDS)


def remember_write(request) -> None:
    user_id = _user_id(request)
    if user_id is not None and settings.READ_YOUR_WRITES_SECONDS > 0:
        cache.set(RECENT_WRITE_KEY % user_id, 1, timeout=settings.READ_YOUR_WRITES_SECONDS)


# --- Per request -----------------------------------------------------------------------------


def _in_transaction(connection) -> bool:
    # The test runner wraps each test in atomic blocks of its own; those are not the app's.
    return connection.in_atomic_block and any(
        not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks
    )


class RequestReads:
    """Where one request reads: decided at its first read of a CRM table."""

    def __init__(self, request):
        self.request = request
        self.safe = request.method in SAFE_METHODS
        self.alias: str | None = None
        self.wrote = False

    @property
    def used_replica(self) -> bool:
        return self.alias not in (None, PRIMARY)

    def alias_for_read(self) -> str:
        if self.wrote or not self.safe or _in_transaction(connections[PRIMARY]):
            return PRIMARY
        if self.alias is None:
            replica = None if wrote_recently(self.request) else healthy_replica()
            self.alias = replica or PRIMARY
        return self.alias


_current: contextvars.ContextVar[RequestReads | None] = contextvars.ContextVar("crm_reads", default=None)


def _forget_request(**kwargs) -> None:
    _current.set(None)


# A streamed body is read after the middleware has returned: the request's choice holds until
# the response is closed.
request_finished.connect(_forget_request, dispatch_uid="crm.replicas.forget_request")


class ReplicaRouter:
    """Django database router: CRM reads of safe API requests to a healthy replica."""

    def db_for_read(self, model, **hints):
        reads = _current.get()
        if reads is None or model not in REPLICA_READ_MODELS:
            return PRIMARY if reads is not None else None
        return reads.alias_for_read()

    def db_for_write(self, model, **hints):
        reads = _current.get()
        if reads is not None:
            reads.wrote = True
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # Replicas copy the primary's schema; migrations run on the primary only.
        return db == PRIMARY


class ReadRoutingMiddleware:
    """Sets up each API request's read routing, remembers its writes, says who answered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            _current.set(None)
            return self.get_response(request)
        reads = RequestReads(request) if replica_aliases() else None
        _current.set(reads)
        response = self.get_response(request)
        if reads is not None and (reads.wrote or not reads.safe):
            remember_write(request)
        response["X-Read-From"] = "replica" if reads is not None and reads.used_replica else "primary"
        return response


def database_states() -> dict[str, dict]:
    """Each replica's state for /readyz, checked now."""
    states = {}
    for alias in replica_aliases():
        status = replica_status(alias, fresh=True)
        lag = None if status.lag_seconds is None else round(status.lag_seconds, 1)
        states[alias] = {"state": status.state, "lag_seconds": lag, "serving_reads": status.healthy}
    return states

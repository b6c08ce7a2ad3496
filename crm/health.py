"""Health checks for the load balancer and the orchestrator.

``/healthz`` answers as long as the process serves requests (liveness: restart me if not);
``/readyz`` also asks the database and checks the four CRM tables (readiness: send me
traffic), and reports the state of each read replica and of the cache. Only the primary
decides readiness: without a replica reads go to the primary, and without the cache
throttling fails open, so neither is a reason to take the instance out of service. Neither
probe needs authentication, neither is throttled (plain Django views, outside DRF), and
neither names a version, host or table: only states, by database alias.
"""

import logging

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .errors import RETRY_AFTER_SECONDS
from .replicas import database_states
from .schema import missing_legacy_tables

logger = logging.getLogger("crm.health")


@never_cache
@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    try:
        missing = missing_legacy_tables(connection)
    except DatabaseError as exc:
        logger.warning("not ready: database error: %s", exc)
        return _not_ready()
    if missing:
        logger.warning("not ready: missing tables: %s", ", ".join(missing))
        return _not_ready()
    return JsonResponse(
        {
            "status": "ok",
            "databases": {"default": {"state": "ok"}, **database_states()},
            "cache": _cache_state(),
        }
    )


def _cache_state() -> str:
    ping = getattr(cache, "ping", None)
    if not callable(ping):
        return "ok"  # the database cache: the primary just answered
    try:
        return "ok" if ping() else "unavailable"
    except Exception as exc:  # a probe never fails on the cache
        logger.warning("cache check failed: %s", exc)
        return "unavailable"


def _not_ready() -> JsonResponse:
    response = JsonResponse({"status": "unavailable"}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response

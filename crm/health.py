"""Health checks for the load balancer and the orchestrator.

``/healthz`` answers as long as the process serves requests (liveness: restart me if not);
``/readyz`` also asks the database and checks the four CRM tables (readiness: send me
traffic). Neither needs authentication, neither is throttled (plain Django views, outside
DRF), and neither says more than a status: a probe needs no version, host or table names.
"""

import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .errors import RETRY_AFTER_SECONDS
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
    return JsonResponse({"status": "ok"})


def _not_ready() -> JsonResponse:
    response = JsonResponse({"status": "unavailable"}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response

"""One error shape for every endpoint.

The shape is drf-standardized-errors' (``{"type", "errors": [{"code", "detail", "attr"}]}``),
documented in the OpenAPI schema. This module adds what the library leaves to the project:
database failures become 503 (unreachable, with Retry-After) or 500, and Django's own
404/500 pages answer in the same shape under /api/. No body ever carries a traceback, SQL
or credentials; the log line does, tagged with the request id.
"""

import contextlib
import logging
import sys

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.views import defaults
from drf_standardized_errors.handler import ExceptionHandler as BaseExceptionHandler
from rest_framework import status
from rest_framework.exceptions import APIException, ErrorDetail
from rest_framework.exceptions import ValidationError as DRFValidationError

logger = logging.getLogger("crm.errors")

# MySQL client/server error numbers that mean "the database cannot be reached right now":
# 1040 too many connections, 1205 lock wait timeout, 2002/2003 cannot connect,
# 2005 unknown host, 2006 server gone away, 2013 lost connection during query.
UNAVAILABLE_ERRNOS = frozenset({1040, 1205, 2002, 2003, 2005, 2006, 2013})
RETRY_AFTER_SECONDS = 5


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unreachable. Retry shortly."
    default_code = "database_unavailable"
    wait = RETRY_AFTER_SECONDS


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource has changed since it was read (If-Match does not match)."
    default_code = "precondition_failed"


class UnprocessableEntity(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"


def is_database_unavailable(exc: BaseException) -> bool:
    # Django wraps driver errors around execute and fetch only: MySQLdb raises from
    # cursor.close() (draining a result over a dropped connection) reach us unwrapped.
    if not isinstance(exc, (OperationalError, connection.Database.OperationalError)):
        return False
    errno = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    return errno in UNAVAILABLE_ERRNOS


def discard_connection() -> None:
    """Close this worker's connection after an outage, so its next request reconnects.

    An error Django did not wrap leaves ``errors_occurred`` unset, and the persistent
    connection (CONN_MAX_AGE) would otherwise be reused broken by every later request.
    Inside an atomic block Django defers the close to the block's end, so only close outside.
    """
    if not connection.in_atomic_block:
        with contextlib.suppress(Exception):
            connection.close()


class ExceptionHandler(BaseExceptionHandler):
    def convert_known_exceptions(self, exc):
        if is_database_unavailable(exc):
            logger.error("database unavailable: %s", exc)
            discard_connection()
            return ServiceUnavailable()
        if isinstance(exc, DatabaseError):
            # Logged with the traceback by report_exception; the client sees a generic 500.
            return exc
        if isinstance(exc, DjangoValidationError):
            return as_drf_validation_error(exc)
        return super().convert_known_exceptions(exc)


def as_drf_validation_error(exc: DjangoValidationError) -> DRFValidationError:
    """Selectors and services raise Django's ValidationError; clients get a 400 naming each field.

    The codes survive the conversion, so ``{"code": "invalid_choice", "attr": "area"}``
    reaches the client as the form field produced it.
    """

    def details(errors):
        return [ErrorDetail(message, code=error.code or "invalid") for error in errors for message in error]

    if hasattr(exc, "error_dict"):
        return DRFValidationError({field: details(errors) for field, errors in exc.error_dict.items()})
    return DRFValidationError({"non_field_errors": details(exc.error_list)})


def _error_body(error_type: str, code: str, detail: str) -> dict:
    return {"type": error_type, "errors": [{"code": code, "detail": detail, "attr": None}]}


def _is_api(request) -> bool:
    return request.path.startswith("/api/") or request.path == "/api"


def page_not_found(request, exception):
    if _is_api(request):
        return JsonResponse(
            _error_body("client_error", "not_found", "No such endpoint."),
            status=status.HTTP_404_NOT_FOUND,
        )
    return defaults.page_not_found(request, exception)


def server_error(request):
    # Django calls this handler inside its ``except`` block, so the exception is at hand. It
    # covers what DRF's handler never sees: a middleware (sessions, auth) or a plain Django
    # view touching a database that is down. That is an outage, not a bug: 503 + Retry-After.
    if is_database_unavailable(sys.exc_info()[1]):
        discard_connection()
        return database_unavailable(request)
    if _is_api(request):
        return JsonResponse(
            _error_body("server_error", "error", "Server Error (500)"),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    return defaults.server_error(request)


def database_unavailable(request):
    if _is_api(request):
        response = JsonResponse(
            _error_body(
                "server_error", ServiceUnavailable.default_code, str(ServiceUnavailable.default_detail)
            ),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    else:
        response = HttpResponse(
            "Service temporarily unavailable. Retry shortly.\n",
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            content_type="text/plain; charset=utf-8",
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response

"""Request ids: one per request, in the X-Request-ID response header and every log line.

A client-supplied X-Request-ID is kept when it looks like an id (so a caller can follow
its own id through our logs); anything else is replaced, so log lines cannot be forged.
"""

import contextvars
import functools
import logging
import re
import uuid

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import JsonResponse

_request_id = contextvars.ContextVar("request_id", default="-")
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def current_request_id() -> str:
    return _request_id.get()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        supplied = request.headers.get("X-Request-ID", "")
        request_id = supplied if _VALID_ID.match(supplied) else uuid.uuid4().hex
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


# --- Request body size ---------------------------------------------------------------------
IMPORT_PATH = "/api/imports"
MULTIPART_ALLOWANCE = 64 * 1024


class RequestBodyLimitMiddleware:
    """Refuse API bodies larger than DATA_UPLOAD_MAX_MEMORY_SIZE with 413 in the error shape.

    Django enforces the limit only when a body is read through ``request.body`` or
    ``request.POST``; DRF's parsers read the stream directly and would parse any size. The
    declared length is checked before anything is read, so an oversized body costs nothing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request.path.startswith(IMPORT_PATH):
            # A workbook upload: the file limit plus room for the multipart envelope.
            limit = settings.IMPORT_MAX_FILE_SIZE + MULTIPART_ALLOWANCE
        if limit is not None and request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                detail = f"The request body is larger than {limit} bytes."
                return JsonResponse(
                    {
                        "type": "client_error",
                        "errors": [{"code": "request_too_large", "detail": detail, "attr": None}],
                    },
                    status=413,
                )
        return self.get_response(request)


# --- Write context -------------------------------------------------------------------------
class WriteContextMiddleware:
    """Every write a request makes is recorded with its door, its request id and its user.

    The door is ``admin`` under /admin/ and ``api`` elsewhere; the user is read when the
    entry is written (DRF authenticates tokens inside the view). See crm/services/history.py.
    """

    def __init__(self, get_response):
        # Imported here, not at the top: logging loads this module before the models exist.
        from crm.models import Change
        from crm.services.write_context import write_context

        self.get_response = get_response
        self.write_context = write_context
        self.admin, self.api = Change.Source.ADMIN, Change.Source.API

    def __call__(self, request):
        source = self.admin if request.path.startswith("/admin/") else self.api
        request_id = getattr(request, "request_id", None)
        with self.write_context(source=source, request_id=request_id, request=request):
            return self.get_response(request)


# What a response or view sets to have a policy of its own (django-csp's decorators).
_CSP_OWN_POLICY = tuple(
    f"_csp_{what}{suffix}" for what in ("exempt", "config", "update", "replace") for suffix in ("", "_ro")
)


@functools.cache
def _csp_headers() -> tuple[str, str]:
    """The Content-Security-Policy headers of the settings: the policy, the report-only one."""
    return build_policy(), build_policy(report_only=True)


@receiver(setting_changed)
def _csp_settings_changed(*, setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _csp_headers.cache_clear()


class CSPMiddleware(DjangoCSPMiddleware):
    """django-csp's middleware, the headers of the settings' policy built once, not per response.

    django-csp builds both headers from the settings on every response, 0.05-0.1 ms of an API
    call of 2 ms. No view here varies them, so the headers built once are set as they are; a
    response with a policy of its own (django-csp's decorators), a page that used a nonce, an
    excluded path, a header already set or DEBUG go through django-csp's own code.
    """

    def process_response(self, request, response):
        policies = (
            getattr(settings, name, None) or {}
            for name in ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY")
        )
        if (
            settings.DEBUG
            or getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in _CSP_OWN_POLICY)
            or HEADER in response
            or HEADER_REPORT_ONLY in response
            or any(policy.get("EXCLUDE_URL_PREFIXES") for policy in policies)
        ):
            return super().process_response(request, response)
        policy, report_only = _csp_headers()
        if policy:
            response[HEADER] = policy
        if report_only:
            response[HEADER_REPORT_ONLY] = report_only
        # As django-csp: a nonce asked for after the header is written is an error, not a nonce.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response

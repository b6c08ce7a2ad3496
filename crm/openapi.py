"""OpenAPI: the error responses drf-standardized-errors does not know about.

503 (database unreachable) can answer any API call, so every operation documents it.
409, 412 and 422 belong to specific writes: a view lists them in ``extend_schema(responses=...)``
with the serializers below, and they appear nowhere else.
"""

from django.db import models
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum, ServerErrorEnum
from rest_framework import serializers

OPT_IN_ERROR_STATUS_CODES = frozenset({"409", "412", "422"})


class AutoSchema(StandardizedErrorsAutoSchema):
    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        if status_code in OPT_IN_ERROR_STATUS_CODES:
            return False
        return super()._should_add_error_response(responses, status_code)


def _error_response_serializer(status_code: int, codes: models.TextChoices, error_type):
    error = type(
        f"Error{status_code}Serializer",
        (serializers.Serializer,),
        {
            "code": serializers.ChoiceField(choices=codes.choices),
            "detail": serializers.CharField(),
            "attr": serializers.CharField(allow_null=True),
        },
    )
    return type(
        f"ErrorResponse{status_code}Serializer",
        (serializers.Serializer,),
        {"type": serializers.ChoiceField(choices=error_type.choices), "errors": error(many=True)},
    )


class ErrorCode409Enum(models.TextChoices):
    CONFLICT = "conflict"


class ErrorCode412Enum(models.TextChoices):
    PRECONDITION_FAILED = "precondition_failed"


class ErrorCode422Enum(models.TextChoices):
    UNPROCESSABLE = "unprocessable"


class ErrorCode503Enum(models.TextChoices):
    DATABASE_UNAVAILABLE = "database_unavailable"


ErrorResponse409Serializer = _error_response_serializer(409, ErrorCode409Enum, ClientErrorEnum)
ErrorResponse412Serializer = _error_response_serializer(412, ErrorCode412Enum, ClientErrorEnum)
ErrorResponse422Serializer = _error_response_serializer(422, ErrorCode422Enum, ClientErrorEnum)
ErrorResponse503Serializer = _error_response_serializer(503, ErrorCode503Enum, ServerErrorEnum)


def canonical_paths(endpoints):
    """Document "/api/customers", not "/api/customers/": the router's optional slash ("/?") reads
    as a slash to drf-spectacular, but the contract and docs spell paths without one."""
    return [
        (
            path[:-1] if path_regex.endswith("/?$") and path.endswith("/") else path,
            path_regex,
            method,
            callback,
        )
        for path, path_regex, method, callback in endpoints
    ]

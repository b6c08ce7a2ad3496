"""OpenAPI error responses for the status codes the project adds to drf-standardized-errors.

The library documents 400-500 itself; 409, 412 and 422 (writes only) and 503 (database
unreachable, any endpoint) come from crm/errors.py and need their own response schemas.
"""

from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum, ServerErrorEnum
from rest_framework import serializers

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE_ONLY_STATUS_CODES = frozenset({"409", "412", "422"})


class _Error(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ClientErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = _Error(many=True)


class ServiceUnavailableResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ServerErrorEnum.choices)
    errors = _Error(many=True)


class AutoSchema(StandardizedErrorsAutoSchema):
    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        # A read never conflicts, fails a precondition or is unprocessable.
        if status_code in WRITE_ONLY_STATUS_CODES and self.method in READ_METHODS:
            return False
        return super()._should_add_error_response(responses, status_code)

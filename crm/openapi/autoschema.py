"""The schema generator: the error responses drf-standardized-errors does not know about.

503 (database unreachable) can answer any API call, so every operation documents it.
409, 412 and 422 belong to specific writes: a view lists them in ``extend_schema(responses=...)``
with the serializers below, and they appear nowhere else.
"""

from django.db import models
from drf_spectacular.plumbing import force_instance, is_serializer
from drf_spectacular.utils import PolymorphicProxySerializer
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum, ServerErrorEnum, ValidationErrorEnum
from drf_standardized_errors.openapi_utils import (
    get_error_serializer,
    get_flat_serializer_fields,
    get_form_fields_with_error_codes,
    get_serializer_fields_with_error_codes,
)
from inflection import camelize
from rest_framework import serializers

OPT_IN_ERROR_STATUS_CODES = frozenset({"409", "412", "422"})


class AutoSchema(StandardizedErrorsAutoSchema):
    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        if status_code in OPT_IN_ERROR_STATUS_CODES:
            return False
        return super()._should_add_error_response(responses, status_code)

    def _get_filter_parameters(self):
        # django-filter (and DRF's search/ordering) read a blank value as "not given": ?area=
        # lists everything, it is not a 400. The schema says so, for clients and schemathesis.
        return [
            {**parameter, "allowEmptyValue": True} if parameter.get("in") == "query" else parameter
            for parameter in super()._get_filter_parameters()
        ]

    # drf-standardized-errors documents the validation errors of request bodies and of
    # django-filter filters. Views that validate their query string with a serializer
    # (``extend_schema(parameters=[QuerySerializer])``: forecast, data quality) answer the same
    # 400, so its fields' error codes are documented too.
    def _query_serializers(self) -> list:
        if self.method in ("PUT", "PATCH", "POST"):
            return []
        return [force_instance(p) for p in self.get_override_parameters() if is_serializer(p)]

    # The same for a list's paging parameters, which the paginator validates with its own form.
    def _paging_form(self):
        if self.method != "GET" or not self._is_list_view():
            return None
        paginator = self._get_paginator()
        return paginator.schema_error_form() if hasattr(paginator, "schema_error_form") else None

    def get_paginated_name(self, serializer_name: str) -> str:
        # The paginator's schema is "an array, or a page": the list's response, not only its page.
        return f"{serializer_name}ListResponse"

    def _should_add_validation_error_response(self) -> bool:
        return (
            super()._should_add_validation_error_response()
            or bool(self._query_serializers())
            or self._paging_form() is not None
        )

    # A StrictFilterSet answers an unknown query parameter, and a body serializer marked
    # ``rejects_unknown_fields`` an unknown field, with an error whose attr is that name: any
    # string. The library's error list is discriminated by attr, which cannot express "any
    # other name", so such lists are a plain oneOf with one more member.
    def _unknown_name_error(self) -> list:
        from ..filters import StrictFilterSet
        from ..views.common import QueryParamsChecked

        errors = []
        if self.method in ("PUT", "PATCH", "POST"):
            serializer = self.get_request_serializer()
            if getattr(serializer, "rejects_unknown_fields", False):
                errors.append(UnknownFieldErrorSerializer)
        filterset = getattr(self.view, "filterset_class", None)
        strict_filters = isinstance(filterset, type) and issubclass(filterset, StrictFilterSet)
        # Every endpoint refuses unknown and repeated query parameters (crm.params).
        if isinstance(self.view, QueryParamsChecked) or (self.method == "GET" and strict_filters):
            errors.append(UnknownParameterErrorSerializer)
        return errors

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and getattr(serializer, "rejects_unknown_fields", False):
            schema = {**schema, "additionalProperties": False}
        return schema

    def _get_serializer_for_validation_error_response(self):
        unknown_name_errors = self._unknown_name_error()
        if not unknown_name_errors:
            return super()._get_serializer_for_validation_error_response()
        operation_id = self.get_operation_id()
        codes_by_field = self._get_validation_error_codes_by_field(self._determine_fields_with_error_codes())
        members = [get_error_serializer(operation_id, name, codes) for name, codes in codes_by_field.items()]

        class ValidationErrorSerializer(serializers.Serializer):
            type = serializers.ChoiceField(choices=ValidationErrorEnum.choices)
            errors = PolymorphicProxySerializer(
                component_name=f"{camelize(operation_id)}Error",
                resource_type_field_name=None,
                serializers=[*members, *unknown_name_errors],
                many=True,
            )

            class Meta:
                ref_name = f"{camelize(operation_id)}ValidationError"

        return ValidationErrorSerializer

    def _determine_fields_with_error_codes(self):
        fields = super()._determine_fields_with_error_codes()
        for serializer in self._query_serializers():
            fields += get_serializer_fields_with_error_codes(get_flat_serializer_fields(serializer))
        if (form := self._paging_form()) is not None:
            fields += get_form_fields_with_error_codes(form)
        return fields


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


def _unknown_name_error_serializer(ref_name: str, codes: list[str], attr_help: str) -> type:
    return type(
        f"{ref_name}Serializer",
        (serializers.Serializer,),
        {
            "attr": serializers.CharField(help_text=attr_help),
            "code": serializers.ChoiceField(choices=[(code, code) for code in codes]),
            "detail": serializers.CharField(),
            "Meta": type("Meta", (), {"ref_name": ref_name}),
        },
    )


UnknownParameterErrorSerializer = _unknown_name_error_serializer(
    "UnknownParameterError",
    ["unknown_parameter", "repeated_parameter"],
    "The query parameter's name: unknown to the endpoint, or given twice where it takes one value.",
)
UnknownFieldErrorSerializer = _unknown_name_error_serializer(
    "UnknownFieldError", ["unknown_field"], "The unknown field's name."
)

"""Opt-in limit/offset paging: a list is a plain array unless the client asks for a page.

DRF's LimitOffsetPagination quietly falls back to defaults on ``limit=abc`` or clamps
``limit=100000``; here each is a 400 naming the parameter, so a client never takes a
partial page for the whole list.
"""

import orjson
from django import forms
from django.core.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

MAX_LIMIT = 1000
# No table here can hold more rows than a signed INT counts; a larger offset is a mistake, and
# past 2**63 it would overflow the database's own LIMIT/OFFSET arithmetic (a 500, not a 400).
MAX_OFFSET = 2**31 - 1
# Used when only ``offset`` is given.
DEFAULT_LIMIT = 100


class _PageParamsForm(forms.Form):
    limit = forms.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT)
    offset = forms.IntegerField(required=False, min_value=0, max_value=MAX_OFFSET)

    def __init__(self, data):
        super().__init__(data)
        for name in ("limit", "offset"):
            # An empty value is a mistake too, not "no paging".
            self.fields[name].required = name in data


class OptInLimitOffsetPagination(LimitOffsetPagination):
    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT

    def requested(self, request) -> bool:
        return (
            self.limit_query_param in request.query_params or self.offset_query_param in request.query_params
        )

    def parse(self, request) -> None:
        """Validate and keep ``limit``/``offset``; ValidationError (400) naming the bad one."""
        form = _PageParamsForm(request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors.as_data())
        self.request = request
        self.limit = form.cleaned_data["limit"] or self.default_limit
        self.offset = form.cleaned_data["offset"] or 0

    def paginate_queryset(self, queryset, request, view=None):
        # The browsable API's path; the JSON path slices in the view to stay in one query.
        self.parse(request)
        self.count = self.get_count(queryset)
        return list(queryset[self.offset : self.offset + self.limit])

    def get_schema_operation_parameters(self, view):
        # The bounds the form enforces, so clients (and schemathesis) know them.
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": MAX_LIMIT},
            self.offset_query_param: {"minimum": 0, "maximum": MAX_OFFSET},
        }
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = {**parameter["schema"], **bounds.get(parameter["name"], {})}
        return parameters

    def get_paginated_response_bytes(self, results: bytes) -> bytes:
        """The paged body around results already encoded by ``encode_rows``."""
        return orjson.dumps(
            {
                "count": self.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": orjson.Fragment(results),
            }
        )

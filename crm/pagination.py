"""Opt-in limit/offset paging: a list is a plain array unless the client asks for a page.

DRF's LimitOffsetPagination quietly falls back to defaults on ``limit=abc`` or clamps
``limit=100000``; here each is a 400 naming the parameter, so a client never takes a
partial page for the whole list. The paginator also owns the paging part of the OpenAPI
schema (parameters, their errors and the response), so every list documents it alike.
"""

import orjson
from django import forms
from django.core.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

from . import numbers
from .ids import INT_MAX

MAX_LIMIT = 1000
# No table here can hold more rows than a signed INT counts; a larger offset is a mistake, and
# past 2**63 it would overflow the database's own LIMIT/OFFSET arithmetic (a 500, not a 400).
MAX_OFFSET = INT_MAX
# Used when only ``offset`` is given.
DEFAULT_LIMIT = 100


_PAGE_EXAMPLE = {
    "count": {"example": 276},
    "next": {"example": "http://localhost:8000/api/customers?limit=1&offset=1"},
    "previous": {"example": None},
}


class PageParamsForm(forms.Form):
    limit = numbers.IntegerFormField(required=False, min_value=1, max_value=MAX_LIMIT)
    offset = numbers.IntegerFormField(required=False, min_value=0, max_value=MAX_OFFSET)

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
        form = PageParamsForm(request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors.as_data())
        self.request = request
        self.limit = form.cleaned_data["limit"] or self.default_limit
        self.offset = form.cleaned_data["offset"] or 0

    def paginate_queryset(self, queryset, request, view=None):
        """The page's rows after ``parse``: a COUNT, then one query for the slice."""
        self.count = self.get_count(queryset)
        return list(queryset[self.offset : self.offset + self.limit])

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

    # --- OpenAPI ---------------------------------------------------------------------------

    def get_schema_operation_parameters(self, view):
        # The bounds the form enforces, so clients (and schemathesis) know them.
        return [
            {
                "name": self.limit_query_param,
                "required": False,
                "in": "query",
                "description": f"Page size, 1 to {MAX_LIMIT} (more is a 400). Giving `limit` or "
                "`offset` turns on paging: the body becomes `{count, next, previous, results}`.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            },
            {
                "name": self.offset_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows to skip, 0 or more. Alone, it pages with `limit` {DEFAULT_LIMIT}.",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
            },
        ]

    def get_paginated_response_schema(self, schema):
        if not isinstance(schema, dict):
            # drf-spectacular asking how to show a list's example as a page: it puts the
            # example row where ``schema`` is and takes the other values from here.
            return {"properties": {**_PAGE_EXAMPLE, "results": schema}}
        # Opt-in: a plain array, or a page when limit/offset are given.
        page = {
            "type": "object",
            "required": ["count", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer", "description": "Rows matching the filters, all pages together."},
                "next": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "description": "The next page, or null on the last.",
                },
                "previous": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "description": "The previous page, or null on the first.",
                },
                "results": schema,
            },
        }
        return {"oneOf": [schema, page]}

    def schema_error_form(self) -> forms.Form:
        """The form whose error codes the schema lists for the paging parameters."""
        return PageParamsForm({"limit": "", "offset": ""})  # both present: "required" counts too

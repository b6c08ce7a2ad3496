"""Opt-in paging: a list is a plain array unless the client asks for a page.

Two kinds of page, one paginator:
- ``limit``/``offset``: ``{count, next, previous, results}``. OFFSET n makes the database
  read and throw away n rows, and the count reads every matching row, so both grow with the
  table; ``offset`` is capped at MAX_OFFSET (a 400 that points to ``cursor``).
- ``page_size`` (and the ``cursor`` of a ``next``/``previous`` link), on the lists whose view
  sets ``cursor_pages``: ``{next, previous, results}``, keyset pages. The cursor carries the
  last row's sort key; the next page is "rows after it" in an order an index delivers, so a
  page costs the same at any depth and a walk sees each row once even while rows are added
  and removed (``crm.cursors``).

DRF's own paginators quietly fall back to defaults on ``limit=abc`` or clamp
``limit=100000``; here each is a 400 naming the parameter, so a client never takes a
partial page for the whole list. The paginator also owns the paging part of the OpenAPI
schema (parameters, their errors and the response), so every list documents it alike.
"""

import orjson
from django import forms
from django.core.exceptions import ValidationError
from django.db import connections
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.utils.urls import replace_query_param

from . import cursors, numbers

MAX_LIMIT = 1000
# OFFSET n reads n rows to skip them: at 10 000 that is a few milliseconds on any list here;
# deeper, a client walks with ``cursor`` (constant cost per page) instead.
MAX_OFFSET = 10_000
# The cursors this API issues are signed sort keys of indexed columns, well under this; the bound
# keeps a request line within what gunicorn accepts (limit_request_line), so a long one is a 400,
# not a 414.
MAX_CURSOR_LENGTH = 512
# Used when only ``offset`` (or only ``cursor``) is given.
DEFAULT_LIMIT = 100
MAX_PAGE_SIZE = MAX_LIMIT


_PAGE_EXAMPLE = {
    "count": {"example": 276},
    "next": {"example": "http://localhost:8000/api/customers?limit=1&offset=1"},
    "previous": {"example": None},
}


class _OffsetField(numbers.IntegerFormField):
    default_error_messages = {
        "max_value": f"Ensure this value is less than or equal to {MAX_OFFSET}; to go deeper, "
        "page with page_size and follow the cursor of each page's next link.",
    }


class PageParamsForm(forms.Form):
    limit = numbers.IntegerFormField(required=False, min_value=1, max_value=MAX_LIMIT)
    offset = _OffsetField(required=False, min_value=0, max_value=MAX_OFFSET)
    page_size = numbers.IntegerFormField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)
    cursor = forms.CharField(
        required=False,
        max_length=MAX_CURSOR_LENGTH,
        strip=False,
        # Raised by crm.cursors when a cursor is altered or foreign; declared here so the schema
        # lists the code with the others of the paging parameters.
        error_messages={"invalid": "Not a cursor this API issued."},
    )

    def __init__(self, data, *, cursor_pages: bool = True):
        # Only the parameters given get a field, as the FilterSets build only the filters
        # named (crm.filters): a form deep-copies each of its fields on every request. A
        # parameter not given is absent from cleaned_data.
        offered = type(self).base_fields.items()
        self.base_fields = {
            name: field
            for name, field in offered
            if name in data and (cursor_pages or name not in ("page_size", "cursor"))
        }
        super().__init__(data)
        for field in self.fields.values():
            # An empty value is a mistake too, not "no paging".
            field.required = True

    def clean(self):
        data = self.cleaned_data
        if ("page_size" in self.data or "cursor" in self.data) and (
            "limit" in self.data or "offset" in self.data
        ):
            self.add_error(
                "page_size" if "page_size" in self.data else "cursor",
                forms.ValidationError(
                    "Page with either page_size/cursor or limit/offset, not both.", code="invalid"
                ),
            )
        return data


class OptInLimitOffsetPagination(LimitOffsetPagination):
    # KeysetPagination turns on page_size/cursor; the others page with limit/offset only.
    cursor_pages = False
    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT
    page_size_query_param = "page_size"
    cursor_query_param = "cursor"

    def requested(self, request) -> bool:
        return any(
            name in request.query_params
            for name in (self.limit_query_param, self.offset_query_param, *self._cursor_params())
        )

    def _cursor_params(self) -> tuple[str, ...]:
        return (self.page_size_query_param, self.cursor_query_param) if self.cursor_pages else ()

    def parse(self, request) -> None:
        """Validate and keep the paging parameters; ValidationError (400) naming the bad one."""
        form = PageParamsForm(request.query_params, cursor_pages=self.cursor_pages)
        if not form.is_valid():
            raise ValidationError(form.errors.as_data())
        self.request = request
        data = form.cleaned_data
        self.keyset = self.cursor_pages and any(
            name in request.query_params for name in self._cursor_params()
        )
        if self.keyset:
            self.limit = data.get("page_size") or self.default_limit
            self.cursor = None
            if data.get("cursor"):
                self.cursor = cursors.cursor_decode(data["cursor"], query=self._query_identity(request))
        else:
            self.limit = data.get("limit") or self.default_limit
            self.offset = data.get("offset") or 0

    def paginate_queryset(
        self, queryset, request, view=None, fetch=list, position=cursors.position_of, fetch_cursor_page=None
    ):
        """The page's rows after ``parse``; ``fetch`` runs a sliced queryset (a view may fetch smarter,
        or as tuples: ``position(row, keys)`` then reads a row's sort key).

        limit/offset: a COUNT, then one query for the slice. page_size: one query for the
        slice after (or before) the cursor's position, one row more than the page to learn
        whether another page follows; no count. A view may run a cursor page itself:
        ``fetch_cursor_page(page, shape=..., position=...)`` gets a function building the
        sliced queryset, what fixes its SQL but the position (the alias, the query's identity,
        the direction and the size) and the position's query parameters (crm.sql.PageSQL).
        """
        if not self.keyset:
            self.count = self.get_count(queryset)
            return fetch(queryset[self.offset : self.offset + self.limit])
        self.keys = cursors.keyset_of(queryset)
        backward = self.cursor is not None and self.cursor.backward
        identity = self._query_identity(request)

        def page():
            return cursors.after(queryset, self.keys, self.cursor)[: self.limit + 1]

        if fetch_cursor_page is None:
            rows = fetch(page())
        else:
            shape = (queryset.db, identity, self.cursor is not None, backward, self.limit)
            params = cursors.after_params(self.keys, self.cursor, connections[queryset.db])
            rows = fetch_cursor_page(page, shape=shape, position=params)
        more = len(rows) > self.limit
        rows = rows[: self.limit]
        if backward:
            rows.reverse()
        first = position(rows[0], self.keys) if rows else None
        last = position(rows[-1], self.keys) if rows else None
        here = self.cursor.position if self.cursor else None
        self.next_cursor = self.previous_cursor = None
        if backward:
            self.previous_cursor = (
                cursors.cursor_encode(first, backward=True, query=identity) if more else None
            )
            self.next_cursor = cursors.cursor_encode(last or here, backward=False, query=identity)
        else:
            self.next_cursor = cursors.cursor_encode(last, backward=False, query=identity) if more else None
            if self.cursor is not None:
                self.previous_cursor = cursors.cursor_encode(first or here, backward=True, query=identity)
        return rows

    def _query_identity(self, request) -> str:
        """What a cursor is bound to: the path and every parameter but the paging ones."""
        params = sorted(
            (name, value)
            for name, values in request.query_params.lists()
            for value in values
            if name not in (self.page_size_query_param, self.cursor_query_param, "format")
        )
        return cursors.query_identity(request.path.rstrip("/"), params)

    def _cursor_link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_next_link(self):
        if self.keyset:
            return self._cursor_link(self.next_cursor)
        return super().get_next_link()

    def get_previous_link(self):
        if self.keyset:
            return self._cursor_link(self.previous_cursor)
        return super().get_previous_link()

    def page_body(self, results) -> dict:
        if self.keyset:
            return {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": results}
        return {
            "count": self.count,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": results,
        }

    def get_paginated_response(self, data):
        from rest_framework.response import Response

        return Response(self.page_body(data))

    def get_paginated_response_bytes(self, results: bytes) -> bytes:
        """The paged body around results already encoded by ``encode_rows``."""
        return orjson.dumps(self.page_body(orjson.Fragment(results)))

    # --- OpenAPI ---------------------------------------------------------------------------

    def get_schema_operation_parameters(self, view):
        # The bounds the form enforces, so clients (and schemathesis) know them.
        parameters = [
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
                "description": f"Rows to skip, 0 to {MAX_OFFSET}; deeper is a 400 pointing to `cursor`. "
                f"Alone, it pages with `limit` {DEFAULT_LIMIT}. The database reads every skipped row and "
                "the `count` reads every matching one, so a deep offset costs more than an early page.",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
            },
        ]
        if self.cursor_pages:
            parameters += [
                {
                    "name": self.page_size_query_param,
                    "required": False,
                    "in": "query",
                    "description": f"Cursor pages of 1 to {MAX_PAGE_SIZE} rows: the body becomes "
                    "`{next, previous, results}` (no count). Each page costs the same at any depth; "
                    "follow `next` to the end to see every row that exists throughout the walk exactly "
                    "once. Not with `limit`/`offset`. Orders: the default, or `ordering` by one indexed "
                    "column (with the id as tiebreaker, same direction); others are a 400 naming "
                    "`ordering`.",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                },
                {
                    "name": self.cursor_query_param,
                    "required": False,
                    "in": "query",
                    "description": "Opaque; taken from a page's `next` or `previous` link, which also "
                    "repeat `page_size` and the filters. A cursor altered, or used with other filters "
                    "or another ordering than the page it came from, is a 400 naming `cursor`.",
                    "schema": {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
                },
            ]
        return parameters

    def get_paginated_response_schema(self, schema):
        if not isinstance(schema, dict):
            # drf-spectacular asking how to show a list's example as a page: it puts the
            # example row where ``schema`` is and takes the other values from here.
            return {"properties": {**_PAGE_EXAMPLE, "results": schema}}
        links = {
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
        }
        # Opt-in: a plain array, or a page when limit/offset (or page_size) are given.
        offset_page = {
            "type": "object",
            "required": ["count", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer", "description": "Rows matching the filters, all pages together."},
                **links,
                "results": schema,
            },
        }
        if not self.cursor_pages:
            return {"oneOf": [schema, offset_page]}
        cursor_page = {
            "type": "object",
            "required": ["next", "previous", "results"],
            "additionalProperties": False,
            "properties": {**links, "results": schema},
        }
        return {"oneOf": [schema, offset_page, cursor_page]}

    def schema_error_form(self) -> forms.Form:
        """The form whose error codes the schema lists for the paging parameters."""
        # Every parameter present: "required" (an empty value) counts too.
        return PageParamsForm(
            dict.fromkeys(("limit", "offset", "page_size", "cursor"), ""), cursor_pages=self.cursor_pages
        )


class KeysetPagination(OptInLimitOffsetPagination):
    """limit/offset pages, and cursor pages with ``page_size``: for lists that grow with the business."""

    cursor_pages = True

"""Shared pieces of the API views: the selector-backed list, the 405-first check, the query check."""

from django.core.exceptions import ValidationError
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.response import Response

from ..pagination import OptInLimitOffsetPagination
from ..params import FORMAT_PARAM, query_param_errors
from ..scopes import scope_for


class SelectorListMixin:
    """A list whose rows come from a selector that applies the filters itself.

    ``list`` checks the paging parameters and the filters together (one 400 names every bad
    parameter), calls ``selector(filters=..., scope=<the caller's areas>, **selector_kwargs())``
    and renders the rows as
    a plain array, or as a page when ``limit``/``offset`` are given.

    ``filter_backends``/``filterset_class`` stay declared so the OpenAPI schema documents
    the filters; the backend never runs, so the filters apply once.
    """

    pagination_class = OptInLimitOffsetPagination
    filter_backends = (DjangoFilterBackend,)
    # staticmethod(<entity>_list): takes ``filters=`` and returns a queryset.
    selector = None
    # Runs a page's sliced queryset; a selector that fetches a page more cheaply replaces it.
    fetch_page = staticmethod(list)

    def selector_kwargs(self) -> dict:
        return {}

    def list(self, request, *args, **kwargs):
        paged = self.paginator.requested(request)
        errors = {}
        if paged:
            try:
                self.paginator.parse(request)
            except ValidationError as exc:
                errors.update(exc.error_dict)
        try:
            rows = self.selector(
                filters=request.query_params, scope=scope_for(request.user), **self.selector_kwargs()
            )
        except ValidationError as exc:
            errors.update(exc.error_dict)
        if errors:
            # Django's ValidationError: crm.errors answers 400 naming each parameter.
            raise ValidationError(errors)
        return self.render_list(request, rows, paged=paged)

    def render_list(self, request, rows, *, paged: bool) -> Response:
        if not paged:
            return Response(self.get_serializer(rows, many=True).data)
        page = self.paginator.paginate_queryset(rows, request, view=self, fetch=self.fetch_page)
        return self.paginator.get_paginated_response(self.get_serializer(page, many=True).data)


class QueryParamsChecked:
    """Every endpoint but a list reads only ``query_params_read`` (and ``format``), each once.

    Anything else is a 400 naming it (crm.params), as the lists' FilterSets answer for theirs:
    ``GET /api/opportunities/<oid>?fields=x`` or ``/api/forecast?year=2025`` is a mistake to
    report, not a parameter to ignore. Checked after authentication and permissions, so a
    caller without access learns nothing from it.
    """

    query_params_read: frozenset[str] = frozenset()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if getattr(self, "action", None) == "list":
            return  # the list's FilterSet checks its own parameters, with its filters' errors
        errors = query_param_errors(request.query_params, known={*self.query_params_read, FORMAT_PARAM})
        if errors:
            raise ValidationError(errors)


class MethodCheckedFirst:
    """405 for a method the endpoint does not have, before permissions are checked.

    DRF checks model permissions first, so a reader POSTing to a read-only endpoint would
    hear "403, you may not", suggesting that someone else may.
    """

    def initial(self, request, *args, **kwargs):
        if getattr(self, request.method.lower(), None) is None:
            raise MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

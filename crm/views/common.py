"""Shared pieces of the API views: opt-in paging, selector-backed lists, the 405-first check."""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import mixins, viewsets
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.response import Response

from ..pagination import OptInLimitOffsetPagination

PAGING_ERRORS = ["invalid", "min_value", "max_value", "required"]


class _OptInPagination(OptInLimitOffsetPagination):
    def get_paginated_response_schema(self, schema):
        # Opt-in: a plain array, or a page when limit/offset are given.
        return {"oneOf": [schema, super().get_paginated_response_schema(schema)]}


class _SelectorListViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """List endpoints whose rows come from a selector that applies the filters itself.

    ``filter_backends``/``filterset_class`` stay declared so the OpenAPI schema documents
    the filters; ``list`` never runs the backend, so the filters apply once.
    """

    pagination_class = _OptInPagination
    filter_backends = (DjangoFilterBackend,)
    # staticmethod(<entity>_list): takes ``filters=`` and returns a queryset.
    selector = None

    def list(self, request, *args, **kwargs):
        # A bad filter raises Django's ValidationError: crm.errors answers 400 naming it.
        rows = self.selector(filters=request.query_params)
        if not self.paginator.requested(request):
            return Response(self.get_serializer(rows, many=True).data)
        page = self.paginator.paginate_queryset(rows, request, view=self)
        return self.paginator.get_paginated_response(self.get_serializer(page, many=True).data)


class MethodCheckedFirst:
    """405 for a method the endpoint does not have, before permissions are checked.

    DRF checks model permissions first, so a reader POSTing to a read-only endpoint would
    hear "403, you may not", suggesting that someone else may.
    """

    def initial(self, request, *args, **kwargs):
        if getattr(self, request.method.lower(), None) is None:
            raise MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

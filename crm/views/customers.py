"""Customers: list and detail, read-only; what the schema says about them is in ``crm.openapi.customers``."""

from rest_framework import viewsets
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response

from ..filters import CustomerFilter
from ..models import Customer
from ..openapi import customers as schemas
from ..pagination import KeysetPagination
from ..rendering import PreEncodedJSONRenderer, encode_rows
from ..scopes import scope_for
from ..selectors import customer_get, customer_list
from ..serializers import CUSTOMER_FIELDS, CustomerSerializer, customer_rows_to_dicts
from .common import MethodCheckedFirst, QueryParamsChecked, SelectorListMixin


@schemas.customer_viewset
class CustomerViewSet(MethodCheckedFirst, QueryParamsChecked, SelectorListMixin, viewsets.GenericViewSet):
    """The customer roster, read-only: customers are maintained in the source system."""

    # The permission class reads the model from here (crm.view_customer); data comes from the selectors.
    queryset = Customer.objects.none()
    serializer_class = CustomerSerializer
    lookup_field = "cid"
    renderer_classes = [PreEncodedJSONRenderer, BrowsableAPIRenderer]
    filterset_class = CustomerFilter
    pagination_class = KeysetPagination
    selector = staticmethod(customer_list)

    def render_list(self, request, rows, *, paged: bool) -> Response:
        # The one list that skips the serializer (docs/architecture.md, "the customer list's
        # fast path"): the whole roster is a common request, and a serializer per row costs
        # seconds at 100k customers. The browsable API, for people, keeps the serializer.
        if request.accepted_renderer.format != "json" or (paged and self.paginator.keyset):
            # Cursor pages are at most 1000 rows: the ordinary serializer is fast enough.
            return super().render_list(request, rows, paged=paged)
        if not paged:
            return Response(encode_rows(rows, CUSTOMER_FIELDS, customer_rows_to_dicts))
        paginator = self.paginator
        paginator.count = rows.count()
        page = rows[paginator.offset : paginator.offset + paginator.limit]
        return Response(
            paginator.get_paginated_response_bytes(encode_rows(page, CUSTOMER_FIELDS, customer_rows_to_dicts))
        )

    def retrieve(self, request, cid=None):
        # Outside the caller's areas: the same 404 as a customer that does not exist.
        customer = customer_get(cid=cid, scope=scope_for(request.user))
        if customer is None:
            raise NotFound("No customer with this cid.")
        return Response(CustomerSerializer(customer).data)

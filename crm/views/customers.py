"""Customers: list and detail, read-only."""

from django.core.exceptions import ValidationError
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from drf_standardized_errors.openapi_serializers import ErrorResponse404Serializer
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import viewsets
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response

from ..filters import CustomerFilter
from ..models import Customer
from ..pagination import MAX_LIMIT, MAX_OFFSET, OptInLimitOffsetPagination
from ..rendering import PreEncodedJSONRenderer, encode_rows
from ..selectors import customer_get, customer_list
from ..serializers import (
    CUSTOMER_FIELDS,
    CustomerSerializer,
    PaginatedCustomerListSerializer,
    customer_rows_to_dicts,
)
from .common import PAGING_ERRORS, MethodCheckedFirst

# --- Customers (list and detail) -----------------------------------------------------
PAGING_PARAMETERS = [
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        description=f"Page size, 1 to {MAX_LIMIT} (more is a 400). Giving `limit` or `offset` turns on "
        "paging: the body becomes `{count, next, previous, results}`.",
    ),
    OpenApiParameter(
        "offset",
        {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
        description="Rows to skip, 0 or more. Alone, it pages with `limit` 100.",
    ),
]
UNKNOWN_PARAMETER_NOTE = (
    "Any other query parameter is a 400 (`unknown_parameter`, `attr` = its name) rather than "
    "being ignored; `format` (`json`, `api`) is accepted."
)


@extend_schema_view(
    list=extend_schema(
        summary="List customers",
        description=(
            "Every customer matching the filters, ordered by `cid` unless `ordering` says otherwise. "
            "Without `limit`/`offset` the body is a plain JSON array of all matching customers. "
            + UNKNOWN_PARAMETER_NOTE
        ),
        parameters=PAGING_PARAMETERS,
        responses={
            200: PolymorphicProxySerializer(
                component_name="CustomerListResponse",
                serializers=[CustomerSerializer(many=True), PaginatedCustomerListSerializer],
                resource_type_field_name=None,
                many=False,
            ),
        },
        examples=[
            OpenApiExample(
                "A page",
                value={
                    "count": 276,
                    "next": "http://localhost:8000/api/customers?limit=1&offset=1",
                    "previous": None,
                    "results": [
                        {
                            "cid": 1001,
                            "customer_name": "Société Générale Assurances",
                            "area": "France",
                            "account_executive": "Camille Martin",
                            "technical_specialist": None,
                            "industry": "Financial Services",
                            "contract_type": "Multi-year",
                            "contract_start_date": "2023-07-01",
                            "contract_end_date": "2026-06-30",
                            "is_active": True,
                            "is_key_account": True,
                        }
                    ],
                },
                response_only=True,
            ),
        ],
    ),
    retrieve=extend_schema(
        summary="One customer",
        parameters=[OpenApiParameter("cid", int, OpenApiParameter.PATH, description="Customer id.")],
        responses={
            200: CustomerSerializer,
            404: OpenApiResponse(ErrorResponse404Serializer, description="No customer with this cid."),
        },
    ),
)
@extend_validation_errors(PAGING_ERRORS, field_name="limit", actions=["list"])
@extend_validation_errors(PAGING_ERRORS, field_name="offset", actions=["list"])
class CustomerViewSet(MethodCheckedFirst, viewsets.GenericViewSet):
    """The customer roster, read-only: customers are maintained in the source system."""

    # The permission class reads the model from here (crm.view_customer); data comes from the selectors.
    queryset = Customer.objects.none()
    serializer_class = CustomerSerializer
    lookup_field = "cid"
    renderer_classes = [PreEncodedJSONRenderer, BrowsableAPIRenderer]
    # Documentation only: list() runs the FilterSet through the selector.
    filter_backends = [DjangoFilterBackend]
    filterset_class = CustomerFilter
    pagination_class = OptInLimitOffsetPagination

    def list(self, request):
        paginator = self.paginator
        paged = paginator.requested(request)
        # Every bad parameter in one answer, paging and filters alike.
        errors = {}
        try:
            if paged:
                paginator.parse(request)
        except ValidationError as exc:
            errors.update(exc.error_dict)
        try:
            customers = customer_list(filters=request.query_params)
        except ValidationError as exc:
            errors.update(exc.error_dict)
        if errors:
            raise ValidationError(errors)

        if request.accepted_renderer.format != "json":
            # The browsable API, for people: the ordinary serializer is fast enough for a page.
            if paged:
                page = paginator.paginate_queryset(customers, request, view=self)
                return paginator.get_paginated_response(CustomerSerializer(page, many=True).data)
            return Response(CustomerSerializer(customers, many=True).data)

        if not paged:
            return Response(encode_rows(customers, CUSTOMER_FIELDS, customer_rows_to_dicts))
        paginator.count = customers.count()
        page = customers[paginator.offset : paginator.offset + paginator.limit]
        return Response(
            paginator.get_paginated_response_bytes(encode_rows(page, CUSTOMER_FIELDS, customer_rows_to_dicts))
        )

    def retrieve(self, request, cid=None):
        customer = customer_get(cid=int(cid)) if cid.isascii() and cid.isdigit() else None
        if customer is None:
            raise NotFound("No customer with this cid.")
        return Response(CustomerSerializer(customer).data)

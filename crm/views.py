"""Thin API views: parse the request, call a selector or service, render."""

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
from rest_framework import mixins, viewsets
from rest_framework.exceptions import MethodNotAllowed, NotFound
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from .filters import CustomerFilter, RevenueActualFilter, RevenueTargetFilter
from .models import Customer, RevenueActual, RevenueTarget
from .pagination import MAX_LIMIT, OptInLimitOffsetPagination
from .permissions import view_permission
from .rendering import PreEncodedJSONRenderer, encode_rows
from .selectors import (
    customer_get,
    customer_list,
    data_quality_report,
    forecast_by_area,
    revenue_actual_list,
    revenue_target_list,
)
from .serializers import (
    CUSTOMER_FIELDS,
    CustomerSerializer,
    DataQualityReportSerializer,
    ForecastQuerySerializer,
    ForecastSerializer,
    PaginatedCustomerListSerializer,
    RevenueActualSerializer,
    RevenueTargetSerializer,
    customer_rows_to_dicts,
)


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


@extend_schema_view(
    list=extend_schema(
        summary="Monthly revenue actuals",
        description="Realised revenue per area and month (the first day of the month), ordered by area "
        "and month. A plain array; with `limit` (at most 1000) and `offset` a page "
        "`{count, next, previous, results}`. Needs `crm.view_revenueactual`.",
    )
)
class RevenueActualViewSet(_SelectorListViewSet):
    queryset = RevenueActual.objects.all()
    serializer_class = RevenueActualSerializer
    filterset_class = RevenueActualFilter
    selector = staticmethod(revenue_actual_list)


@extend_schema_view(
    list=extend_schema(
        summary="Revenue targets",
        description="Target per area and fiscal year, ordered by area and fiscal year. A plain array; "
        "with `limit`/`offset` a page. Needs `crm.view_revenuetarget`.",
    )
)
class RevenueTargetViewSet(_SelectorListViewSet):
    queryset = RevenueTarget.objects.all()
    serializer_class = RevenueTargetSerializer
    filterset_class = RevenueTargetFilter
    selector = staticmethod(revenue_target_list)


FORECAST_PERMISSIONS = ("crm.view_opportunity", "crm.view_revenueactual", "crm.view_revenuetarget")
DATA_QUALITY_PERMISSIONS = ("crm.view_customer", *FORECAST_PERMISSIONS)


def _period(request) -> dict:
    params = ForecastQuerySerializer(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data


class ForecastView(APIView):
    permission_classes = (view_permission(*FORECAST_PERMISSIONS),)

    @extend_schema(
        summary="Fiscal-year forecast per area",
        description="Per area and in total: target, actuals to date, run-rate projection, weighted "
        "pipeline, projected total, gap and attainment (formula: docs/forecast.md). Money as strings "
        "with 2 places, percentages with 1, rounded half up. Needs `crm.view_opportunity`, "
        "`crm.view_revenueactual` and `crm.view_revenuetarget`.",
        parameters=[ForecastQuerySerializer],
        responses={200: ForecastSerializer},
    )
    def get(self, request):
        forecast = forecast_by_area(**_period(request))
        return Response(ForecastSerializer(forecast).data)


class DataQualityView(APIView):
    permission_classes = (view_permission(*DATA_QUALITY_PERMISSIONS),)

    @extend_schema(
        summary="Data-quality report",
        description="Every rule over customers, opportunities and revenue with its level (error or "
        "warning), the number of rows breaking it and up to 20 example keys. Reads only. Same "
        "`fiscal_year`/`as_of` parameters and defaults as the forecast. Needs view permission on "
        "customers, opportunities and revenue.",
        parameters=[ForecastQuerySerializer],
        responses={200: DataQualityReportSerializer},
        examples=[
            OpenApiExample(
                "One broken rule",
                value={
                    "fiscal_year": 2025,
                    "as_of": "2024-12-15",
                    "errors": 1,
                    "warnings": 0,
                    "rules": [
                        {
                            "id": "customer.area_unknown",
                            "entity": "customer",
                            "level": "error",
                            "description": "Customer area outside the five areas.",
                            "count": 1,
                            "examples": ["9001"],
                        }
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        report = data_quality_report(**_period(request))
        return Response(DataQualityReportSerializer(report).data)


# --- Customers (list and detail) -----------------------------------------------------
PAGING_PARAMETERS = [
    OpenApiParameter(
        "limit",
        int,
        description=f"Page size, 1 to {MAX_LIMIT} (more is a 400). Giving `limit` or `offset` turns on "
        "paging: the body becomes `{count, next, previous, results}`.",
    ),
    OpenApiParameter(
        "offset",
        int,
        description="Rows to skip, 0 or more. Alone, it pages with `limit` 100.",
    ),
]
UNKNOWN_PARAMETER_NOTE = (
    "Any other query parameter is a 400 (`unknown_parameter`, `attr` = its name) rather than "
    "being ignored; `format` (`json`, `api`) is accepted."
)
PAGING_ERRORS = ["invalid", "min_value", "max_value", "required"]


class MethodCheckedFirst:
    """405 for a method the endpoint does not have, before permissions are checked.

    DRF checks model permissions first, so a reader POSTing to a read-only endpoint would
    hear "403, you may not", suggesting that someone else may.
    """

    def initial(self, request, *args, **kwargs):
        if getattr(self, request.method.lower(), None) is None:
            raise MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)


# --- Customers -----------------------------------------------------------------------
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

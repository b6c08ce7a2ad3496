"""Revenue actuals and targets, the forecast and the data-quality report."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework.response import Response
from rest_framework.views import APIView

from ..filters import RevenueActualFilter, RevenueTargetFilter
from ..models import RevenueActual, RevenueTarget
from ..permissions import view_permission
from ..selectors import data_quality_report, forecast_by_area, revenue_actual_list, revenue_target_list
from ..serializers import (
    DataQualityReportSerializer,
    ForecastQuerySerializer,
    ForecastSerializer,
    RevenueActualSerializer,
    RevenueTargetSerializer,
)
from .common import _SelectorListViewSet


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
    # A plain dict, not the QueryDict: DRF reads a blank value in a QueryDict as "not given",
    # and ``as_of=`` is a mistake to report (400), not a request for the default.
    params = ForecastQuerySerializer(data=request.query_params.dict())
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

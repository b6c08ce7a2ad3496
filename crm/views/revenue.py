"""Revenue actuals and targets, the forecast and the data-quality report.

What the schema says about them is in ``crm.openapi.revenue``.
"""

from rest_framework import viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from ..filters import RevenueActualFilter, RevenueTargetFilter
from ..models import RevenueActual, RevenueTarget
from ..openapi import revenue as schemas
from ..permissions import view_permission
from ..scopes import scope_for
from ..selectors import data_quality_report, forecast_by_area, revenue_actual_list, revenue_target_list
from ..serializers import (
    DataQualityReportSerializer,
    ForecastQuerySerializer,
    ForecastSerializer,
    RevenueActualSerializer,
    RevenueTargetSerializer,
)
from .common import QueryParamsChecked, SelectorListMixin


@schemas.revenue_actual_viewset
class RevenueActualViewSet(SelectorListMixin, viewsets.GenericViewSet):
    queryset = RevenueActual.objects.all()
    serializer_class = RevenueActualSerializer
    filterset_class = RevenueActualFilter
    selector = staticmethod(revenue_actual_list)


@schemas.revenue_target_viewset
class RevenueTargetViewSet(SelectorListMixin, viewsets.GenericViewSet):
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


class _PeriodReportView(QueryParamsChecked, APIView):
    """A report over one fiscal-year period: parse fiscal_year/as_of, compute for the caller's
    areas (crm/scopes.py), serialize."""

    query_params_read = frozenset(ForecastQuerySerializer().fields)

    report = None  # staticmethod(selector taking fiscal_year=, as_of=, scope=)
    serializer_class = None

    def get(self, request):
        report = self.report(**_period(request), scope=scope_for(request.user))
        return Response(self.serializer_class(report).data)


@schemas.forecast_view
class ForecastView(_PeriodReportView):
    permission_classes = (view_permission(*FORECAST_PERMISSIONS),)
    report = staticmethod(forecast_by_area)
    serializer_class = ForecastSerializer


@schemas.data_quality_view
class DataQualityView(_PeriodReportView):
    permission_classes = (view_permission(*DATA_QUALITY_PERMISSIONS),)
    report = staticmethod(data_quality_report)
    serializer_class = DataQualityReportSerializer

"""Forecast snapshots and the pipeline movement (docs/forecast.md, "Pipeline movement").

What the schema says about them is in ``crm.openapi.movement``.
"""

from django.core.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from ..openapi import movement as schemas
from ..params import FORMAT_PARAM, query_param_errors
from ..permissions import view_permission
from ..scopes import scope_for
from ..selectors import forecast_movement, forecast_snapshot_list
from ..serializers.movement import (
    ForecastSnapshotSerializer,
    MovementQuerySerializer,
    MovementSerializer,
    SnapshotQuerySerializer,
    movement_data,
)
from .common import MethodCheckedFirst, QueryParamsChecked
from .revenue import FORECAST_PERMISSIONS


def strict_query(request, serializer_class) -> dict:
    """The query parameters, validated: an unknown or repeated parameter is a 400 naming it
    (crm.params), reported together with every invalid value."""
    errors = query_param_errors(request.query_params, known={*serializer_class().fields, FORMAT_PARAM})
    # A plain dict, not the QueryDict: DRF reads a blank value in a QueryDict as "not given".
    params = serializer_class(data=request.query_params.dict())
    if not params.is_valid():
        for name, details in params.errors.items():
            errors.setdefault(name, [ValidationError(str(detail), code=detail.code) for detail in details])
    if errors:
        # Django's ValidationError: crm.errors answers 400 naming each parameter.
        raise ValidationError(errors)
    return params.validated_data


@schemas.snapshot_list
class ForecastSnapshotView(MethodCheckedFirst, QueryParamsChecked, APIView):
    permission_classes = (view_permission(*FORECAST_PERMISSIONS),)
    query_params_read = frozenset(SnapshotQuerySerializer().fields)

    def get(self, request):
        params = strict_query(request, SnapshotQuerySerializer)
        rows = forecast_snapshot_list(
            fiscal_year=params["fiscal_year"],
            area=params.get("area"),
            date_from=params.get("from"),
            date_to=params.get("to"),
            scope=scope_for(request.user),
        )
        return Response(ForecastSnapshotSerializer(rows, many=True).data)


@schemas.movement
class ForecastMovementView(MethodCheckedFirst, QueryParamsChecked, APIView):
    permission_classes = (view_permission(*FORECAST_PERMISSIONS),)
    query_params_read = frozenset(MovementQuerySerializer().fields)

    def get(self, request):
        params = strict_query(request, MovementQuerySerializer)
        movement = forecast_movement(
            fiscal_year=params["fiscal_year"],
            date_from=params["from"],
            date_to=params["to"],
            detail=params["detail"],
            scope=scope_for(request.user),
        )
        return Response(MovementSerializer(movement_data(movement)).data)

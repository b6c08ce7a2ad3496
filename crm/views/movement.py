"""Forecast snapshots and the pipeline movement (docs/forecast.md, "Pipeline movement").

What the schema says about them is in ``crm.openapi.movement``.
"""

from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from ..openapi import movement as schemas
from ..permissions import view_permission
from ..selectors import forecast_snapshot_list
from ..serializers.movement import ForecastSnapshotSerializer, SnapshotQuerySerializer
from .common import MethodCheckedFirst
from .revenue import FORECAST_PERMISSIONS

# DRF's format switch (?format=json / ?format=api) is read by the renderer, not the view.
_PASSTHROUGH = frozenset({"format"})


def strict_query(request, serializer_class) -> dict:
    """The query parameters, validated: an unknown or repeated parameter is a 400 naming it.

    Every problem is reported at once, as the list endpoints do.
    """
    known = set(serializer_class().fields) | _PASSTHROUGH
    errors = {}
    for name in request.query_params:
        if name not in known:
            errors[name] = [ErrorDetail(f"Unknown query parameter '{name}'.", code="unknown_parameter")]
        elif len(request.query_params.getlist(name)) > 1:
            errors[name] = [
                ErrorDetail(f"The parameter '{name}' is given more than once.", code="repeated_parameter")
            ]
    # A plain dict, not the QueryDict: DRF reads a blank value in a QueryDict as "not given".
    params = serializer_class(data=request.query_params.dict())
    if not params.is_valid():
        for name, details in params.errors.items():
            errors.setdefault(name, details)
    if errors:
        raise ValidationError(errors)
    return params.validated_data


@schemas.snapshot_list
class ForecastSnapshotView(MethodCheckedFirst, APIView):
    permission_classes = (view_permission(*FORECAST_PERMISSIONS),)

    def get(self, request):
        params = strict_query(request, SnapshotQuerySerializer)
        rows = forecast_snapshot_list(
            fiscal_year=params["fiscal_year"],
            area=params.get("area"),
            date_from=params.get("from"),
            date_to=params.get("to"),
        )
        return Response(ForecastSnapshotSerializer(rows, many=True).data)

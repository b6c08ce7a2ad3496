"""Forecast snapshots and the pipeline movement, as the API returns them."""

from rest_framework import serializers

from ..choices import Area
from ..forecast import MAX_FISCAL_YEAR, MIN_FISCAL_YEAR
from .revenue import ForecastRowSerializer

TOTAL = "Total"


def _fiscal_year(**kwargs):
    return serializers.IntegerField(
        min_value=MIN_FISCAL_YEAR,
        max_value=MAX_FISCAL_YEAR,
        help_text="Fiscal year, named by the year it ends in (FY2025 = 2024-07-01 .. 2025-06-30).",
        **kwargs,
    )


class _DateRangeQuery(serializers.Serializer):
    def validate(self, attrs):
        start, end = attrs.get("from"), attrs.get("to")
        if start is not None and end is not None and start > end:
            raise serializers.ValidationError({"to": [f"to ({end}) must not be before from ({start})."]})
        return attrs


# "from" is a Python keyword, so the query serializers are declared through type().
SnapshotQuerySerializer = type(
    "SnapshotQuerySerializer",
    (_DateRangeQuery,),
    {
        "__doc__": "GET /api/forecast/snapshots parameters.",
        "fiscal_year": _fiscal_year(),
        "area": serializers.ChoiceField(
            choices=[*Area.values, TOTAL],
            required=False,
            help_text='One area, or "Total" for the total row. Default: every row.',
        ),
        "from": serializers.DateField(required=False, help_text="First as_of day (inclusive)."),
        "to": serializers.DateField(required=False, help_text="Last as_of day (inclusive)."),
    },
)


class ForecastSnapshotSerializer(ForecastRowSerializer):
    fiscal_year = serializers.IntegerField()
    as_of = serializers.DateField(help_text="The day the forecast was computed for.")
    taken_at = serializers.DateTimeField(help_text="When manage.py snapshot_forecast stored it.")

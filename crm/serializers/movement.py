"""Forecast snapshots and the pipeline movement, as the API returns them."""

from rest_framework import serializers

from ..choices import Area
from ..forecast import MAX_FISCAL_YEAR, MIN_FISCAL_YEAR, money
from ..movement import BUCKETS, TOTAL
from .revenue import ForecastRowSerializer


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


# --- Pipeline movement ---------------------------------------------------------------------


class _StrictBoolean(serializers.BooleanField):
    """true, false, 1 or 0 (any case), as every boolean parameter (crm.filters.StrictBooleanField)."""

    default_error_messages = {"invalid": "Must be one of: true, false, 1, 0."}

    def to_internal_value(self, data):
        text = str(data).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        self.fail("invalid")


MovementQuerySerializer = type(
    "MovementQuerySerializer",
    (_DateRangeQuery,),
    {
        "__doc__": "GET /api/forecast/movement parameters.",
        "fiscal_year": _fiscal_year(),
        "from": serializers.DateField(
            help_text="The window's first day: the pipeline as it was when that day began (UTC)."
        ),
        "to": serializers.DateField(
            help_text="The window's last day: the pipeline as it was when that day ended."
        ),
        "detail": _StrictBoolean(
            required=False, default=False, help_text="List each bucket's deals per area (true/false)."
        ),
    },
)


def _money(**kwargs):
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


class MeasuresSerializer(serializers.Serializer):
    open_count = serializers.IntegerField(help_text="Open deals closing in the forecast window.")
    open_mrr = _money(help_text="Their est_monthly_revenue, unweighted.")
    weighted_pipeline = _money(help_text="The forecast's weighted pipeline (docs/forecast.md).")


BucketsSerializer = type(
    "MovementBucketsSerializer",
    (serializers.Serializer,),
    {bucket: MeasuresSerializer() for bucket in BUCKETS},
)


class DealStateSerializer(serializers.Serializer):
    cid = serializers.IntegerField()
    area = serializers.CharField(allow_null=True, help_text="The customer's area.")
    status = serializers.CharField()
    est_monthly_revenue = _money()
    probability = serializers.IntegerField(allow_null=True)
    expected_close_date = serializers.DateField()
    open_count = serializers.IntegerField(help_text="What the deal adds to the area's measures.")
    open_mrr = _money()
    weighted_pipeline = _money()


class DealMovementSerializer(serializers.Serializer):
    oid = serializers.CharField()
    opportunity_name = serializers.CharField()
    area = serializers.CharField(
        allow_null=True, help_text="At `to`, or at `from` when `at_to` is null (a deleted deal)."
    )
    at_from = DealStateSerializer(
        allow_null=True,
        help_text="null: the deal did not exist yet, or was in an area outside the caller's areas.",
    )
    at_to = DealStateSerializer(
        allow_null=True, help_text="null: the deal was deleted, or is in an area outside the caller's areas."
    )


DealsSerializer = type(
    "MovementDealsSerializer",
    (serializers.Serializer,),
    {bucket: DealMovementSerializer(many=True) for bucket in BUCKETS},
)


class AreaMovementSerializer(serializers.Serializer):
    area = serializers.CharField(help_text='An area of the vocabulary, or "Total".')
    start = MeasuresSerializer(help_text="The pipeline when `from` began.")
    buckets = BucketsSerializer(help_text="start + the sum of the buckets = end, for every measure.")
    end = MeasuresSerializer(help_text="The pipeline when `to` ended.")
    deals = DealsSerializer(required=False, help_text="Only with detail=true, and not in the total.")


MovementSerializer = type(
    "MovementSerializer",
    (serializers.Serializer,),
    {
        "fiscal_year": serializers.IntegerField(),
        "from": serializers.DateField(),
        "to": serializers.DateField(),
        "areas": AreaMovementSerializer(
            many=True, help_text="One row per area of the caller's, in the vocabulary's order."
        ),
        "total": AreaMovementSerializer(help_text="Sums of the area rows."),
    },
)


def _deal_state(state, area, values) -> dict | None:
    if state is None:
        return None
    count, mrr, weighted = values
    return {
        "cid": state.cid,
        "area": area,
        "status": state.status,
        "est_monthly_revenue": state.est_monthly_revenue,
        "probability": state.probability,
        "expected_close_date": state.expected_close_date,
        "open_count": count,
        "open_mrr": mrr,
        "weighted_pipeline": money(weighted),
    }


def _area_data(row) -> dict:
    data = {"area": row.area, "start": row.start, "buckets": row.buckets, "end": row.end}
    if row.deals:
        data["deals"] = {
            bucket: [
                {
                    "oid": move.oid,
                    "opportunity_name": (move.after or move.before).opportunity_name,
                    "area": move.area_after if move.after is not None else move.area_before,
                    "at_from": _deal_state(move.before, move.area_before, move.values_before),
                    "at_to": _deal_state(move.after, move.area_after, move.values_after),
                }
                for move in moves
            ]
            for bucket, moves in row.deals.items()
        }
    return data


def movement_data(movement) -> dict:
    """A crm.movement.Movement as MovementSerializer renders it."""
    return {
        "fiscal_year": movement.fiscal_year,
        "from": movement.date_from,
        "to": movement.date_to,
        "areas": [_area_data(row) for row in movement.areas],
        "total": _area_data(movement.total),
    }

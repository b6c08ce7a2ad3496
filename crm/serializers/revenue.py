"""Revenue actuals and targets, the forecast and the data-quality report, as the API returns them."""

from decimal import ROUND_HALF_UP

from rest_framework import serializers

from .. import numbers
from ..choices import Area
from ..data_quality import ERROR, WARNING
from ..forecast import MAX_FISCAL_YEAR, MIN_FISCAL_YEAR
from ..models import RevenueActual, RevenueTarget


def _area_as_stored():
    # A plain string, not the five-value enum the model's choices would give: rows written by
    # other tools may hold another area ("Belgium"), and a read is never refused for it, so a
    # client generated from the schema must accept any text here too.
    return serializers.CharField(
        read_only=True, help_text="The area as stored: normally one of " + ", ".join(Area.values) + "."
    )


class RevenueActualSerializer(serializers.ModelSerializer):
    area = _area_as_stored()

    class Meta:
        model = RevenueActual
        fields = ("id", "area", "month", "revenue")
        read_only_fields = fields


class RevenueTargetSerializer(serializers.ModelSerializer):
    area = _area_as_stored()

    class Meta:
        model = RevenueTarget
        fields = ("id", "area", "fiscal_year", "target")
        read_only_fields = fields


class ForecastQuerySerializer(serializers.Serializer):
    fiscal_year = numbers.IntegerField(
        required=False,
        min_value=MIN_FISCAL_YEAR,
        max_value=MAX_FISCAL_YEAR,
        help_text="Fiscal year, named by the year it ends in (FY2025 = 2024-07-01 .. 2025-06-30). "
        "Default: the fiscal year of as_of when given, else of the latest revenue_actuals month, "
        "else the current one.",
    )
    as_of = numbers.DateField(
        required=False,
        help_text="Count actuals of the months starting on or before this day. Must fall within the "
        "fiscal year. Default: today, clamped into the fiscal year.",
    )


def _money(**kwargs):
    return serializers.DecimalField(max_digits=20, decimal_places=2, rounding=ROUND_HALF_UP, **kwargs)


def _pct(**kwargs):
    return serializers.DecimalField(
        max_digits=12, decimal_places=1, rounding=ROUND_HALF_UP, allow_null=True, **kwargs
    )


class ForecastRowSerializer(serializers.Serializer):
    area = serializers.CharField(help_text='An area of the vocabulary, or "Total".')
    target = _money(allow_null=True, help_text="Revenue target of the fiscal year; null when missing.")
    actuals_to_date = _money(help_text="Revenue of the fiscal year's months starting on or before as_of.")
    last_actual_month = serializers.DateField(allow_null=True, help_text="Latest such month (first day).")
    run_rate = _money(help_text="Revenue of last_actual_month (0 when none).")
    remaining_months = serializers.IntegerField(help_text="Fiscal-year months after last_actual_month.")
    run_rate_projection = _money(help_text="run_rate x remaining_months.")
    weighted_pipeline = _money(
        help_text="Sum of est_monthly_revenue x probability/100 x fiscal-year months after the close month."
    )
    projected_total = _money(help_text="actuals_to_date + run_rate_projection + weighted_pipeline.")
    gap_to_target = _money(allow_null=True, help_text="target - projected_total; positive means short.")
    attainment_pct = _pct(help_text="actuals_to_date / target x 100.")
    projected_attainment_pct = _pct(help_text="projected_total / target x 100.")
    open_pipeline_count = serializers.IntegerField(help_text="Open deals closing in the forecast window.")
    open_pipeline_mrr = _money(help_text="Their est_monthly_revenue, unweighted.")


class ForecastSerializer(serializers.Serializer):
    fiscal_year = serializers.IntegerField()
    as_of = serializers.DateField()
    areas = ForecastRowSerializer(many=True, help_text="One row per area, in the vocabulary's order.")
    total = ForecastRowSerializer(help_text="Sums of the area rows; percentages recomputed from the sums.")


class DataQualityRuleSerializer(serializers.Serializer):
    id = serializers.CharField(help_text='Stable rule id, e.g. "customer.area_unknown".')
    entity = serializers.ChoiceField(choices=["customer", "opportunity", "revenue"])
    level = serializers.ChoiceField(choices=[ERROR, WARNING])
    description = serializers.CharField()
    count = serializers.IntegerField(help_text="Rows (or keys) breaking the rule.")
    examples = serializers.ListField(
        child=serializers.CharField(),
        help_text="Up to 20 keys: cid, oid, 'Area YYYY-MM' or 'Area FYnnnn', or an area name.",
    )


class DataQualityReportSerializer(serializers.Serializer):
    fiscal_year = serializers.IntegerField()
    as_of = serializers.DateField()
    errors = serializers.IntegerField(help_text="Error-level rules broken by at least one row.")
    warnings = serializers.IntegerField(help_text="Warning-level rules broken by at least one row.")
    rules = DataQualityRuleSerializer(many=True, help_text="Every rule, broken or not.")

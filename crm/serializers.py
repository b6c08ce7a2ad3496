"""API representations. Money is a decimal string with 2 places, never a float."""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .choices import MAX_MONTHLY_REVENUE, Area, ForecastCategory, Product, Status
from .data_quality import ERROR, WARNING
from .forecast import MAX_FISCAL_YEAR, MIN_FISCAL_YEAR
from .models import Customer, RevenueActual, RevenueTarget
from .services import est_monthly_revenue_problem, vocabulary_message

# --- Revenue, forecast and data quality ------------------------------------------------


class RevenueActualSerializer(serializers.ModelSerializer):
    class Meta:
        model = RevenueActual
        fields = ("id", "area", "month", "revenue")
        read_only_fields = fields


class RevenueTargetSerializer(serializers.ModelSerializer):
    class Meta:
        model = RevenueTarget
        fields = ("id", "area", "fiscal_year", "target")
        read_only_fields = fields


class ForecastQuerySerializer(serializers.Serializer):
    fiscal_year = serializers.IntegerField(
        required=False,
        min_value=MIN_FISCAL_YEAR,
        max_value=MAX_FISCAL_YEAR,
        help_text="Fiscal year, named by the year it ends in (FY2025 = 2024-07-01 .. 2025-06-30). "
        "Default: the fiscal year of as_of when given, else of the latest revenue_actuals month, "
        "else the current one.",
    )
    as_of = serializers.DateField(
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


# --- Customers -----------------------------------------------------------------------
class CustomerSerializer(serializers.ModelSerializer):
    # A plain string, not an enum: rows written by other tools may hold values outside the
    # vocabulary, and the API returns them as they are rather than failing.
    area = serializers.CharField(
        read_only=True, help_text=f"Normally one of: {', '.join(Area.values)}; legacy rows may differ."
    )

    class Meta:
        model = Customer
        fields = [
            "cid",
            "customer_name",
            "area",
            "account_executive",
            "technical_specialist",
            "industry",
            "contract_type",
            "contract_start_date",
            "contract_end_date",
            "is_active",
            "is_key_account",
        ]
        read_only_fields = fields


CUSTOMER_FIELDS = tuple(CustomerSerializer.Meta.fields)


def customer_rows_to_dicts(rows: list[tuple]) -> list[dict]:
    """The fast list's equivalent of ``CustomerSerializer`` for rows in ``CUSTOMER_FIELDS`` order.

    Dates pass through: MySQL returns ``date`` objects (orjson writes ISO 8601), SQLite
    returns the ISO text it stores. Booleans arrive as 0/1 and are converted here.
    """
    return [
        {
            "cid": cid,
            "customer_name": customer_name,
            "area": area,
            "account_executive": account_executive,
            "technical_specialist": technical_specialist,
            "industry": industry,
            "contract_type": contract_type,
            "contract_start_date": contract_start_date,
            "contract_end_date": contract_end_date,
            "is_active": is_active != 0,
            "is_key_account": is_key_account != 0,
        }
        for (
            cid,
            customer_name,
            area,
            account_executive,
            technical_specialist,
            industry,
            contract_type,
            contract_start_date,
            contract_end_date,
            is_active,
            is_key_account,
        ) in rows
    ]


class PaginatedCustomerListSerializer(serializers.Serializer):
    """Schema only: the body when ``limit`` or ``offset`` is given."""

    count = serializers.IntegerField(help_text="Rows matching the filters, all pages together.")
    next = serializers.URLField(allow_null=True, help_text="The next page, or null on the last.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, or null on the first.")
    results = CustomerSerializer(many=True)


# --- Opportunities -----------------------------------------------------------------------

# Plain decimal notation with an optional exponent. Decimal() alone would also take "1_000",
# "Infinity" and non-ASCII digits ("١٢٣"), none of which a client means as an amount.
_DECIMAL_TEXT = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")


class StrictCharField(serializers.CharField):
    """A CharField that takes strings only (DRF's would turn 42 into "42")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class VocabularyField(serializers.ChoiceField):
    """A value from one of the crm.choices vocabularies; the error lists the allowed values."""

    def __init__(self, choices_class: type[models.TextChoices], **kwargs):
        kwargs.setdefault("error_messages", {})["invalid_choice"] = vocabulary_message(choices_class)
        super().__init__(choices=choices_class.choices, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


# As documented: a decimal string > 0 with at most 10 whole digits and 2 places (the field
# also takes a JSON number and "1.500"-style trailing zeros, a lenience the schema leaves out).
@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": r"^(?!0*(\.0*)?$)[0-9]{1,10}(\.[0-9]{1,2})?$",
        "example": "1234.50",
    }
)
class MonthlyRevenueField(serializers.DecimalField):
    """est_monthly_revenue: a JSON number or numeric string; NaN, infinity and booleans refused.

    The amount rules (> 0, at most 9,999,999,999.99, at most 2 places) are the service's,
    shared so both layers answer with the same message.
    """

    default_error_messages = {"invalid": "A number or numeric string is required."}

    def __init__(self, **kwargs):
        super().__init__(
            max_digits=12,
            decimal_places=2,
            max_value=MAX_MONTHLY_REVENUE,
            min_value=Decimal("0.01"),
            **kwargs,
        )
        # The service's rule replaces DRF's digit counting, which would refuse "1.500".
        self.validators = []

    def to_internal_value(self, data):
        # bool is an int: without this check True would become 1.
        if isinstance(data, bool) or not isinstance(data, (str, int, float, Decimal)):
            self.fail("invalid")
        text = str(data).strip() if not isinstance(data, float) else repr(data)
        if not _DECIMAL_TEXT.match(text):
            self.fail("invalid")
        try:
            value = Decimal(text)
        except InvalidOperation:
            self.fail("invalid")
        problem = est_monthly_revenue_problem(value)
        if problem:
            raise serializers.ValidationError(problem.message, code=problem.code)
        return value.quantize(Decimal("0.01"))


class OpportunityInputSerializer(serializers.Serializer):
    """The body of POST, PUT and PATCH /api/opportunities."""

    # Read by crm/openapi.py: the schema says so (additionalProperties: false, unknown_field).
    rejects_unknown_fields = True

    # Fields of the representation a client may send back (e.g. a GET body edited and PUT):
    # accepted and ignored. Any other unknown field is refused.
    READ_ONLY_FIELDS = frozenset({"oid", "customer_name", "area", "created_at", "updated_at"})

    cid = serializers.IntegerField(help_text="The customer's id; must exist.")
    opportunity_name = StrictCharField(max_length=255, help_text="Trimmed; 1 to 255 characters.")
    product = VocabularyField(Product)
    status = VocabularyField(Status)
    est_monthly_revenue = MonthlyRevenueField(
        help_text="EUR per month: > 0, at most 9999999999.99, at most 2 decimal places; "
        "a JSON number or a numeric string."
    )
    probability = serializers.IntegerField(
        min_value=0,
        max_value=100,
        required=False,
        allow_null=True,
        help_text="Percent. Omitted or null: the status default. Closed Won must be 100, Closed Lost 0.",
    )
    forecast_category = VocabularyField(
        ForecastCategory,
        required=False,
        allow_null=True,
        help_text="Omitted or null: the status default. Closed goes with Closed Won only; "
        "Closed Lost takes Omitted.",
    )
    expected_close_date = serializers.DateField(help_text="ISO date, YYYY-MM-DD.")

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, dict):
            unknown = {
                name: [serializers.ErrorDetail("Unknown field.", code="unknown_field")]
                for name in sorted(set(data) - set(self.fields) - self.READ_ONLY_FIELDS)
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            # Report the unknown fields together with the other errors, not one round trip later.
            raise serializers.ValidationError({**exc.detail, **unknown}) from None
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class OpportunitySerializer(serializers.Serializer):
    """An opportunity as the API returns it, with its customer's name and area."""

    oid = serializers.CharField()
    cid = serializers.IntegerField(source="customer_id")
    customer_name = serializers.CharField(source="customer.customer_name")
    # Plain strings, not enums: rows written by other tools may hold values outside the vocabulary.
    area = serializers.CharField(source="customer.area")
    opportunity_name = serializers.CharField()
    product = serializers.CharField()
    status = serializers.CharField()
    est_monthly_revenue = serializers.DecimalField(max_digits=12, decimal_places=2)
    probability = serializers.IntegerField(allow_null=True)
    forecast_category = serializers.CharField(allow_null=True)
    expected_close_date = serializers.DateField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class StatusDefaultsSerializer(serializers.Serializer):
    probability = serializers.IntegerField()
    forecast_category = serializers.CharField()


class VocabularySerializer(serializers.Serializer):
    areas = serializers.ListField(child=serializers.ChoiceField(choices=Area.choices))
    statuses = serializers.ListField(child=serializers.ChoiceField(choices=Status.choices))
    products = serializers.ListField(child=serializers.ChoiceField(choices=Product.choices))
    forecast_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=ForecastCategory.choices)
    )
    status_defaults = serializers.DictField(
        child=StatusDefaultsSerializer(), help_text="Per status: the probability and category assumed."
    )

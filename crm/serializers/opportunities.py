"""Opportunities as the API takes and returns them, and the vocabulary."""

import datetime
from decimal import Decimal

import orjson
from rest_framework import serializers

from .. import numbers
from ..choices import Area, ForecastCategory, Product, Status
from ..messages import UNKNOWN_FIELD
from ..models import Opportunity
from ..scopes import AreaScope
from ..services import opportunity_reference_errors
from .fields import MonthlyRevenueField, StrictCharField, VocabularyField

_NAME_MAX_LENGTH = Opportunity._meta.get_field("opportunity_name").max_length


class OpportunityInputSerializer(serializers.Serializer):
    """The body of POST, PUT and PATCH /api/opportunities."""

    # Read by crm/openapi.py: the schema says so (additionalProperties: false, unknown_field).
    rejects_unknown_fields = True

    # Fields of the representation a client may send back (e.g. a GET body edited and PUT):
    # accepted and ignored. Any other unknown field is refused.
    READ_ONLY_FIELDS = frozenset({"oid", "customer_name", "area", "created_at", "updated_at"})

    cid = numbers.IntegerField(help_text="The customer's id; must exist.")
    opportunity_name = StrictCharField(
        max_length=_NAME_MAX_LENGTH, help_text=f"Trimmed; 1 to {_NAME_MAX_LENGTH} characters."
    )
    product = VocabularyField(Product)
    status = VocabularyField(Status)
    est_monthly_revenue = MonthlyRevenueField(
        help_text="EUR per month: > 0, at most 9999999999.99, at most 2 decimal places; "
        "a JSON number or a numeric string."
    )
    probability = numbers.IntegerField(
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
    expected_close_date = numbers.DateField(help_text="ISO date, YYYY-MM-DD.")

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, dict):
            unknown = {
                name: [serializers.ErrorDetail(UNKNOWN_FIELD, code="unknown_field")]
                for name in sorted(set(data) - set(self.fields) - self.READ_ONLY_FIELDS)
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            # Report the unknown fields and a customer that does not exist together with the
            # other errors, not one round trip later.
            references = self._reference_errors(data, exc.detail)
            raise serializers.ValidationError({**references, **exc.detail, **unknown}) from None
        if unknown:
            raise serializers.ValidationError(unknown)
        return value

    def _reference_errors(self, data, failed: dict) -> dict:
        # Only on the way to a 400: a valid body has its customer checked once, by the
        # service, together with the other rules.
        if not isinstance(data, dict) or "cid" not in data or "cid" in failed:
            return {}
        cid = self.fields["cid"].run_validation(data["cid"])
        return {
            field: [serializers.ErrorDetail(error.message, code=error.code) for error in errors]
            for field, errors in opportunity_reference_errors(
                cid=cid, scope=self.context.get("scope", AreaScope.NONE)
            ).items()
        }


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


# --- The plain mapping: the representation without a serializer per row or per request ---
# Derived from OpportunitySerializer: the same names in the same order, read from the same
# sources (``customer.area`` becomes the column path ``customer__area``).
_FIELDS = OpportunitySerializer().fields
OPPORTUNITY_FIELDS = tuple(_FIELDS)
OPPORTUNITY_COLUMNS = tuple(field.source.replace(".", "__") for field in _FIELDS.values())


def _money(value) -> str | None:
    # Decimal on MySQL, a float or int from SQLite's NUMERIC column: always 2 places.
    return None if value is None else f"{value:.2f}"


def _timestamp(value) -> str:
    # DRF's format: ISO 8601 in UTC with "Z". Raw rows hold naive UTC (MySQL) or text (SQLite).
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value.isoformat() + "Z"


def _date(value) -> str:
    # A date from MySQL and the ORM, ISO text from SQLite's raw rows.
    return value if isinstance(value, str) else value.isoformat()


_CONVERTERS = (
    (serializers.DecimalField, _money),
    (serializers.DateTimeField, _timestamp),
    (serializers.DateField, _date),
)
_CONVERSIONS = tuple(
    (name, next(convert for kind, convert in _CONVERTERS if isinstance(field, kind)))
    for name, field in _FIELDS.items()
    if any(isinstance(field, kind) for kind, _ in _CONVERTERS)
)


def opportunity_rows_to_dicts(rows: list[tuple]) -> list[dict]:
    """OpportunitySerializer's output for rows of ``OPPORTUNITY_COLUMNS``; a test keeps them equal."""
    dicts = [dict(zip(OPPORTUNITY_FIELDS, row, strict=True)) for row in rows]
    for row in dicts:
        for name, convert in _CONVERSIONS:
            row[name] = convert(row[name])
    return dicts


# The converted fields' places in a row and the type MySQL's driver hands each over as.
_NATIVE = tuple(
    (OPPORTUNITY_FIELDS.index(name), kind)
    for name, convert in _CONVERSIONS
    for kind in [{_money: Decimal, _timestamp: datetime.datetime, _date: datetime.date}[convert]]
)


def opportunity_rows_to_json(rows: list[tuple]) -> bytes:
    """``orjson.dumps(opportunity_rows_to_dicts(rows))``, in a fraction of the time for rows as
    MySQL hands them over (Decimal, naive UTC datetime, date): orjson writes dates and
    timestamps in the API's format itself ("Z", microseconds only when there are any), so
    each row is one ``dict(zip())``. Other rows (SQLite's text) take the row function."""
    first = rows[0] if rows else ()
    if not first or not all(type(first[at]) is kind for at, kind in _NATIVE):
        return orjson.dumps(opportunity_rows_to_dicts(rows))
    return orjson.dumps(
        [dict(zip(OPPORTUNITY_FIELDS, row, strict=True)) for row in rows],
        # Only the amount reaches ``default``: a DECIMAL(12,2) comes with its two places, as
        # ``_money`` writes them.
        default=str,
        option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z,
    )


def opportunity_to_dict(opportunity) -> dict:
    """One opportunity (with its customer loaded) as OpportunitySerializer would give it."""
    values = []
    for column in OPPORTUNITY_COLUMNS:
        value = opportunity
        for part in column.split("__"):
            value = getattr(value, part)
        values.append(value)
    return opportunity_rows_to_dicts([tuple(values)])[0]


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

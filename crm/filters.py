"""Query-parameter filters (django-filter), run by the selectors."""

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from .choices import Area, fiscal_year_bounds
from .forecast import MAX_FISCAL_YEAR, MIN_FISCAL_YEAR
from .models import RevenueActual, RevenueTarget

# --- Revenue ---------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class FiscalYearFilter(django_filters.NumberFilter):
    """A whole fiscal year such as 2025 (NumberFilter alone would accept 2025.5)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", MIN_FISCAL_YEAR)
        kwargs.setdefault("max_value", MAX_FISCAL_YEAR)
        super().__init__(*args, **kwargs)


class RevenueActualFilter(django_filters.FilterSet):
    area = django_filters.ChoiceFilter(choices=Area.choices)
    fiscal_year = FiscalYearFilter(
        method="filter_fiscal_year", label="Fiscal year (FY2025 = months 2024-07 .. 2025-06)."
    )
    month_from = django_filters.DateFilter(
        field_name="month", lookup_expr="gte", label="First month, inclusive."
    )
    month_to = django_filters.DateFilter(
        field_name="month", lookup_expr="lte", label="Last month, inclusive."
    )

    class Meta:
        model = RevenueActual
        fields = ("area", "fiscal_year", "month_from", "month_to")

    def filter_fiscal_year(self, queryset, name, value):
        start, end = fiscal_year_bounds(value)
        return queryset.filter(month__gte=start, month__lte=end)


class RevenueTargetFilter(django_filters.FilterSet):
    area = django_filters.ChoiceFilter(choices=Area.choices)
    fiscal_year = FiscalYearFilter(field_name="fiscal_year")

    class Meta:
        model = RevenueTarget
        fields = ("area", "fiscal_year")

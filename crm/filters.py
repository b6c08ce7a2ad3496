"""Query-parameter filters (django-filter), run by the selectors.

A bad parameter is a 400 naming it, never silently ignored: django-filter's defaults drop
an unparseable boolean or a misspelt parameter and return everything, which a client would
take for an answer. ``StrictFilterSet`` and ``StrictBooleanFilter`` close those gaps.
"""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict, ErrorList
from django.utils.datastructures import MultiValueDict
from drf_spectacular.utils import extend_schema_field

from . import numbers
from .choices import Area, ForecastCategory, Product, Status, fiscal_year_bounds
from .forecast import MAX_FISCAL_YEAR, MIN_FISCAL_YEAR
from .ids import INT_MAX, INT_MIN
from .models import Change, Customer, Opportunity, RevenueActual, RevenueTarget
from .params import FORMAT_PARAM, query_param_errors

# Query parameters a list endpoint reads besides its filters: paging, and DRF's
# ``format`` switch (``?format=json`` / ``?format=api``).
PAGING_PARAMS = ("limit", "offset")
PASSTHROUGH_PARAMS = frozenset({*PAGING_PARAMS, FORMAT_PARAM})
# The lists that also take cursor pages (their views use pagination.KeysetPagination).
CURSOR_PASSTHROUGH_PARAMS = PASSTHROUGH_PARAMS | {"page_size", "cursor"}


class StrictBooleanField(forms.Field):
    """``true``/``false``/``1``/``0`` (any case); anything else is invalid, not "no filter"."""

    default_error_messages = {"invalid": "Must be one of: true, false, 1, 0."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValidationError(self.error_messages["invalid"], code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class _VocabularyField(forms.MultipleChoiceField):
    def to_python(self, value):
        # An empty value filters nothing, as for every other filter (``?area=``).
        return [item for item in super().to_python(value) if item != ""]


class VocabularyFilter(django_filters.MultipleChoiceFilter):
    """One or more values of a vocabulary, compared byte for byte (the ``exactly_in`` lookup).

    ``?area=France&area=UK`` means either. Exact, as the forecast and the data-quality report
    compare: on MySQL the column's collation alone would also return legacy spellings
    (``closed won`` for ``Closed Won``), which the reports count as outside the vocabulary.
    """

    def __init__(self, *args, choices, **kwargs):
        kwargs.setdefault("help_text", "")
        kwargs["help_text"] = (
            kwargs["help_text"] + " One or more of the values; repeat the parameter for several "
            "(e.g. ?x=A&x=B means A or B). Compared exactly."
        ).strip()
        super().__init__(*args, choices=choices, **kwargs)

    field_class = _VocabularyField

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__exactly_in": sorted(set(value))})


class StrictFilterSet(django_filters.FilterSet):
    """A FilterSet that rejects query parameters it does not know, and repeats of one-value ones.

    A typo such as ``?aera=France`` would otherwise return every row; ``?page=2`` would
    return page one; ``?fiscal_year=2025&fiscal_year=2026`` would answer for 2026 alone. Each
    such parameter becomes an error with its own name as ``attr`` (crm.params).
    """

    passthrough_params = PASSTHROUGH_PARAMS

    def __init__(self, data=None, *args, named_only: bool = False, **kwargs):
        if data is not None and not hasattr(data, "getlist"):
            # A plain dict (a selector called from code): one value per name, as a query string has.
            data = MultiValueDict(
                {key: value if isinstance(value, list) else [value] for key, value in data.items()}
            )
        if named_only and data is not None:
            # Only the filters the query names are built: django-filter deep-copies every
            # declared filter, and its form every field, on each request (about 1.3 ms of a
            # 50-row page of opportunities). A filter that is not given filters nothing and
            # cannot fail (none is required), so the answer is the same. The schema's error
            # components read the form of a set DRF's backend builds: that one keeps them all.
            self.base_filters = {name: f for name, f in self.base_filters.items() if name in data}
        super().__init__(data, *args, **kwargs)

    def get_form_class(self):
        # django-filter builds a new form class (a field and a label per filter) for every
        # FilterSet, that is every request. The fields depend only on the filters given, so
        # each class is built once per FilterSet class and set of names.
        cls = type(self)
        form_classes = cls.__dict__.get("_form_classes")
        if form_classes is None:
            form_classes = cls._form_classes = {}
        names = frozenset(self.filters)
        form_class = form_classes.get(names)
        if form_class is None:
            form_class = form_classes[names] = super().get_form_class()
        return form_class

    def param_errors(self) -> dict:
        if not self.is_bound:
            return {}
        declared = type(self).base_filters
        multi = {name for name, f in declared.items() if isinstance(f, django_filters.MultipleChoiceFilter)}
        return query_param_errors(self.data, known={*declared, *self.passthrough_params}, multi=multi)

    def is_valid(self) -> bool:
        return super().is_valid() and not self.param_errors()

    @property
    def errors(self) -> ErrorDict:
        errors = ErrorDict(super().errors)
        for param, param_errors in self.param_errors().items():
            errors[param] = ErrorList(param_errors)
        return errors


class OrderingFilter(django_filters.OrderingFilter):
    """``ordering=area,-cid``; the primary key always breaks ties, so paging is stable."""

    def __init__(self, *args, tiebreaker: str, **kwargs):
        self.tiebreaker = tiebreaker
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in django_filters.constants.EMPTY_VALUES:
            return qs
        ordering = [self.get_ordering_value(param) for param in value if param]
        if not any(term.lstrip("-") == self.tiebreaker for term in ordering):
            ordering.append(self.tiebreaker)
        return qs.order_by(*ordering)


# --- Revenue ---------------------------------------------------------------------------


class AsciiDateFilter(django_filters.DateFilter):
    """YYYY-MM-DD in ASCII digits (crm.numbers)."""

    field_class = numbers.DateFormField


class BoundedIntegerFilter(django_filters.NumberFilter):
    """Whole numbers within ``minimum``..``maximum``: out of range is a 400 naming the parameter.

    Each subclass states its bounds in the schema too (schemathesis sends what it allows).
    """

    field_class = numbers.IntegerFormField
    minimum: int
    maximum: int

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{"min_value": self.minimum, "max_value": self.maximum, **kwargs})


# customer.cid is an INT column: a value outside its range is a 400, not a number the
# database driver cannot bind (SQLite raises OverflowError: a 500).
@extend_schema_field({"type": "integer", "minimum": INT_MIN, "maximum": INT_MAX})
class CidFilter(BoundedIntegerFilter):
    minimum, maximum = INT_MIN, INT_MAX


@extend_schema_field({"type": "integer", "minimum": MIN_FISCAL_YEAR, "maximum": MAX_FISCAL_YEAR})
class FiscalYearFilter(BoundedIntegerFilter):
    """A whole fiscal year such as 2025 (NumberFilter alone would accept 2025.5)."""

    minimum, maximum = MIN_FISCAL_YEAR, MAX_FISCAL_YEAR


class RevenueActualFilter(StrictFilterSet):
    area = VocabularyFilter(choices=Area.choices)
    fiscal_year = FiscalYearFilter(
        method="filter_fiscal_year", label="Fiscal year (FY2025 = months 2024-07 .. 2025-06)."
    )
    month_from = AsciiDateFilter(field_name="month", lookup_expr="gte", label="First month, inclusive.")
    month_to = AsciiDateFilter(field_name="month", lookup_expr="lte", label="Last month, inclusive.")

    class Meta:
        model = RevenueActual
        fields = ("area", "fiscal_year", "month_from", "month_to")

    def filter_fiscal_year(self, queryset, name, value):
        start, end = fiscal_year_bounds(value)
        return queryset.filter(month__gte=start, month__lte=end)


class RevenueTargetFilter(StrictFilterSet):
    area = VocabularyFilter(choices=Area.choices)
    fiscal_year = FiscalYearFilter(field_name="fiscal_year")

    class Meta:
        model = RevenueTarget
        fields = ("area", "fiscal_year")


# --- Customers -----------------------------------------------------------------------
CUSTOMER_COLUMNS = tuple(field.column for field in Customer._meta.concrete_fields)


class CustomerFilter(StrictFilterSet):
    passthrough_params = CURSOR_PASSTHROUGH_PARAMS
    area = VocabularyFilter(choices=Area.choices, help_text="The customer's area.")
    # Exact, byte for byte, on every backend (MySQL's collation would ignore case and accents).
    account_executive = django_filters.CharFilter(
        lookup_expr="exactly",
        help_text="The account executive's name, exactly as stored (case and accents count).",
    )
    technical_specialist = django_filters.CharFilter(
        lookup_expr="exactly", help_text="The technical specialist's name, exactly as stored."
    )
    industry = django_filters.CharFilter(lookup_expr="exactly", help_text="The industry, exactly as stored.")
    contract_type = django_filters.CharFilter(
        lookup_expr="exactly", help_text="The contract type, exactly as stored."
    )
    is_active = StrictBooleanFilter(help_text="true, false, 1 or 0.")
    is_key_account = StrictBooleanFilter(help_text="true, false, 1 or 0.")
    search = django_filters.CharFilter(
        field_name="customer_name",
        lookup_expr="icontains",
        help_text="Case-insensitive substring of the customer name.",
    )
    ordering = OrderingFilter(
        fields=CUSTOMER_COLUMNS,
        tiebreaker="cid",
        help_text="Comma-separated columns, '-' for descending (e.g. 'area,-cid'); default cid.",
    )

    class Meta:
        model = Customer
        fields = []


# --- Opportunities -----------------------------------------------------------------------


class CustomerOpportunityFilter(StrictFilterSet):
    """The filters of one customer's opportunities: its ``cid`` is in the path, so not a parameter."""

    passthrough_params = CURSOR_PASSTHROUGH_PARAMS
    status = VocabularyFilter(choices=Status.choices)
    product = VocabularyFilter(choices=Product.choices)
    forecast_category = VocabularyFilter(choices=ForecastCategory.choices)
    area = VocabularyFilter(
        field_name="customer__area", choices=Area.choices, help_text="The customer's area."
    )
    expected_close_date_from = AsciiDateFilter(
        field_name="expected_close_date", lookup_expr="gte", help_text="Close date on or after (YYYY-MM-DD)."
    )
    expected_close_date_to = AsciiDateFilter(
        field_name="expected_close_date", lookup_expr="lte", help_text="Close date on or before (YYYY-MM-DD)."
    )
    ordering = OrderingFilter(
        tiebreaker="oid",
        fields=(
            ("oid", "oid"),
            ("customer_id", "cid"),
            ("customer__customer_name", "customer_name"),
            ("customer__area", "area"),
            ("opportunity_name", "opportunity_name"),
            ("product", "product"),
            ("status", "status"),
            ("est_monthly_revenue", "est_monthly_revenue"),
            ("probability", "probability"),
            ("forecast_category", "forecast_category"),
            ("expected_close_date", "expected_close_date"),
            ("created_at", "created_at"),
            ("updated_at", "updated_at"),
        ),
        help_text="Comma-separated fields, '-' for descending (e.g. '-est_monthly_revenue'). "
        "Default: expected_close_date, oid.",
    )

    class Meta:
        model = Opportunity
        fields = []


class OpportunityFilter(CustomerOpportunityFilter):
    cid = CidFilter(field_name="customer_id", help_text="Customer id.")

    class Meta(CustomerOpportunityFilter.Meta):
        pass


# --- Change history --------------------------------------------------------------------------
# The feed's own paging parameters: where to start (exclusive) and how many.
CHANGE_FEED_PARAMS = ("position", "page_size")


class OpportunityHistoryParams(StrictFilterSet):
    """GET /api/opportunities/{oid}/history takes its paging parameters and nothing else."""

    passthrough_params = frozenset({"page_size", "cursor", "format"})

    class Meta:
        # The view's model (its permission); there is nothing to filter.
        model = Opportunity
        fields = []


class OpportunityStagesParams(StrictFilterSet):
    """GET /api/opportunities/{oid}/stages takes no parameters."""

    class Meta:
        model = Opportunity
        fields = []


class ChangeFilter(StrictFilterSet):
    """GET /api/changes; each filter combines with ``position``, in position order."""

    passthrough_params = frozenset({*CHANGE_FEED_PARAMS, "format"})

    entity = django_filters.ChoiceFilter(choices=Change.Entity.choices)
    action = django_filters.ChoiceFilter(choices=Change.Action.choices)
    # Byte for byte, like the opportunity filters: on MySQL the collation alone would match a
    # legacy spelling (``france``) to ``France`` and ``CAMILLE`` to the user ``camille``.
    area = django_filters.ChoiceFilter(
        lookup_expr="exactly", choices=Area.choices, help_text="The area at the time of the change, exactly."
    )
    actor = django_filters.CharFilter(
        lookup_expr="exactly", help_text="Exact username (case and accents count); system jobs have none."
    )
    since = django_filters.IsoDateTimeFilter(
        field_name="at",
        lookup_expr="gte",
        help_text="Only changes written at or after this time (ISO 8601, e.g. 2026-12-01T00:00:00Z).",
    )

    class Meta:
        model = Change
        fields = []

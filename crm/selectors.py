"""Reads. Views, the admin and management commands get their data from functions here.

Conventions: ``<entity>_<action>``, keyword-only arguments; list selectors take the raw
query parameters as ``filters`` and run the FilterSet themselves, raising Django's
``ValidationError`` (naming each bad parameter) rather than ignoring a bad filter.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from .choices import DEFAULT_FORECAST_CATEGORY, DEFAULT_PROBABILITY, Area, ForecastCategory, Product, Status

# --- Revenue, forecast and data quality ------------------------------------------------
from .data_quality import DataQualityReport, data_quality_compute
from .filters import CustomerFilter, OpportunityFilter, RevenueActualFilter, RevenueTargetFilter
from .forecast import Forecast, forecast_compute, forecast_period
from .ids import int_id
from .models import Customer, Opportunity, RevenueActual, RevenueTarget


def _filtered(filterset_class, filters, queryset: QuerySet) -> QuerySet:
    filterset = filterset_class(filters or {}, queryset=queryset)
    if not filterset.is_valid():
        # as_data() keeps each error's code ("invalid_choice", ...) for the API's answer.
        raise ValidationError(filterset.errors.as_data())
    return filterset.qs


def revenue_actual_list(*, filters=None) -> QuerySet[RevenueActual]:
    """Monthly revenue per area, ordered by area and month."""
    return _filtered(RevenueActualFilter, filters, RevenueActual.objects.order_by("area", "month"))


def revenue_target_list(*, filters=None) -> QuerySet[RevenueTarget]:
    """Fiscal-year targets per area, ordered by area and fiscal year."""
    return _filtered(RevenueTargetFilter, filters, RevenueTarget.objects.order_by("area", "fiscal_year"))


def forecast_by_area(*, fiscal_year: int | None = None, as_of: datetime.date | None = None) -> Forecast:
    """The fiscal-year forecast, one row per area plus the total (docs/forecast.md).

    Missing ``fiscal_year``/``as_of`` take the defaults of ``forecast.forecast_period``.
    """
    fiscal_year, as_of = forecast_period(fiscal_year=fiscal_year, as_of=as_of)
    return forecast_compute(fiscal_year=fiscal_year, as_of=as_of)


def data_quality_report(
    *, fiscal_year: int | None = None, as_of: datetime.date | None = None
) -> DataQualityReport:
    """Every data-quality rule with its level, count and examples; reads only."""
    fiscal_year, as_of = forecast_period(fiscal_year=fiscal_year, as_of=as_of)
    return data_quality_compute(fiscal_year=fiscal_year, as_of=as_of)


# --- Customers -----------------------------------------------------------------------


def customer_list(*, filters=None) -> QuerySet[Customer]:
    """Customers matching ``filters`` (query parameters), by cid unless ``ordering`` says otherwise."""
    return _filtered(CustomerFilter, filters, Customer.objects.order_by("cid"))


def customer_get(*, cid: int | str) -> Customer | None:
    """The customer, or None; ``cid`` an int or the text of a URL. Every customer-scoped view asks here."""
    number = int_id(cid)
    if number is None:
        return None
    return Customer.objects.filter(cid=number).first()


# --- Opportunities -----------------------------------------------------------------------


def opportunity_list(*, filters=None, customer: Customer | None = None) -> QuerySet[Opportunity]:
    """Opportunities with their customer (one query), filtered by OpportunityFilter's parameters."""
    queryset = Opportunity.objects.select_related("customer")
    if customer is not None:
        queryset = queryset.filter(customer=customer)
    return _filtered(OpportunityFilter, filters, queryset)


def opportunity_get(*, oid: str) -> Opportunity | None:
    return Opportunity.objects.select_related("customer").filter(oid=oid).first()


def vocabulary_get() -> dict:
    """The CRM vocabulary and status defaults, as GET /api/vocabulary returns them."""
    return {
        "areas": Area.values,
        "statuses": Status.values,
        "products": Product.values,
        "forecast_categories": ForecastCategory.values,
        "status_defaults": {
            status: {
                "probability": DEFAULT_PROBABILITY[status],
                "forecast_category": str(DEFAULT_FORECAST_CATEGORY[status]),
            }
            for status in Status.values
        },
    }

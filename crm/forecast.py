"""The fiscal-year forecast per area (docs/forecast.md has the formula and a worked example).

Everything is aggregated in the database: three queries (four when the fiscal year is
defaulted) whatever the number of opportunities. The pipeline query groups by area and
close month, so Python only ever combines at most twelve groups per area.

Legacy rows whose area or status lies outside the vocabulary never break the forecast:
an unknown area belongs to no area row (and so to no total), an unknown status counts as
open with its stated probability (0 when it has none). The data-quality report lists them.

A caller's scope (crm/scopes.py) decides which areas the forecast has rows for: each query
names only those areas, so a deal or revenue row of another area is never read into the
answer; ``AreaScope.ALL`` names the five, and its queries are the ones of an unscoped forecast.
"""

import dataclasses
import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    IntegerField,
    Max,
    OuterRef,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from .choices import (
    DEFAULT_PROBABILITY,
    FISCAL_YEAR_START_MONTH,
    FIXED_PROBABILITY,
    Area,
    Status,
    fiscal_year_bounds,
    fiscal_year_of,
)
from .models import Customer, Opportunity, OpportunityQuerySet, RevenueActual, RevenueTarget
from .scopes import AreaScope

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
ZERO = Decimal("0")
MONTHS_IN_YEAR = 12
# Fiscal years whose bounds are valid dates (FY1 would start in year 0).
MIN_FISCAL_YEAR = 1901
MAX_FISCAL_YEAR = 9999
# Wide enough for a sum of DECIMAL(12,2) x 100 over any number of deals.
SUM_FIELD = DecimalField(max_digits=30, decimal_places=2)


def today() -> datetime.date:
    """The server's today; tests patch this rather than the clock."""
    return timezone.localdate()


def fiscal_month_index(day: datetime.date) -> int:
    """1 for July ... 12 for June."""
    return (day.month - FISCAL_YEAR_START_MONTH) % MONTHS_IN_YEAR + 1


def months_after(day: datetime.date) -> int:
    """Fiscal-year months after the month of ``day``: March -> 3 (April, May, June), June -> 0."""
    return MONTHS_IN_YEAR - fiscal_month_index(day)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def percent(part: Decimal, whole: Decimal | None) -> Decimal | None:
    # A zero or negative target has no meaningful attainment.
    if whole is None or whole <= 0:
        return None
    return (part / whole * 100).quantize(TENTH, rounding=ROUND_HALF_UP)


# --- The period ------------------------------------------------------------------------


def forecast_period(
    *, fiscal_year: int | None = None, as_of: datetime.date | None = None
) -> tuple[int, datetime.date]:
    """Resolve the (fiscal_year, as_of) a forecast or report is computed for.

    Defaults: the fiscal year of ``as_of`` when only ``as_of`` is given; otherwise the
    fiscal year of the latest revenue_actuals month (the current one when there are none).
    ``as_of`` defaults to today clamped into that fiscal year. An explicit ``as_of`` outside
    the fiscal year is refused rather than silently moved.
    """
    if fiscal_year is None:
        if as_of is not None:
            fiscal_year = fiscal_year_of(as_of)
            if not MIN_FISCAL_YEAR <= fiscal_year <= MAX_FISCAL_YEAR:
                raise ValidationError(
                    {"as_of": [f"as_of must lie in fiscal years {MIN_FISCAL_YEAR}-{MAX_FISCAL_YEAR}."]}
                )
        else:
            latest = RevenueActual.objects.aggregate(latest=Max("month"))["latest"]
            fiscal_year = fiscal_year_of(latest or today())
    if not MIN_FISCAL_YEAR <= fiscal_year <= MAX_FISCAL_YEAR:
        raise ValidationError(
            {"fiscal_year": [f"fiscal_year must be between {MIN_FISCAL_YEAR} and {MAX_FISCAL_YEAR}."]}
        )
    start, end = fiscal_year_bounds(fiscal_year)
    if as_of is None:
        as_of = min(max(today(), start), end)
    elif not start <= as_of <= end:
        raise ValidationError(
            {"as_of": [f"as_of must fall within fiscal year {fiscal_year} ({start} .. {end})."]}
        )
    return fiscal_year, as_of


# --- The forecast ----------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastRow:
    area: str
    target: Decimal | None
    actuals_to_date: Decimal
    last_actual_month: datetime.date | None
    run_rate: Decimal
    remaining_months: int
    run_rate_projection: Decimal
    weighted_pipeline: Decimal
    projected_total: Decimal
    gap_to_target: Decimal | None
    attainment_pct: Decimal | None
    projected_attainment_pct: Decimal | None
    open_pipeline_count: int
    open_pipeline_mrr: Decimal


@dataclass(frozen=True)
class Forecast:
    fiscal_year: int
    as_of: datetime.date
    areas: list[ForecastRow]
    total: ForecastRow


def _row(
    *,
    area: str,
    target: Decimal | None,
    actuals_to_date: Decimal,
    last_actual_month: datetime.date | None,
    run_rate: Decimal,
    remaining_months: int,
    run_rate_projection: Decimal,
    weighted_pipeline: Decimal,
    open_pipeline_count: int,
    open_pipeline_mrr: Decimal,
) -> ForecastRow:
    # Every money input is already rounded to cents, so the derived figures add up exactly
    # as displayed and the total row is the plain sum of the area rows.
    projected_total = actuals_to_date + run_rate_projection + weighted_pipeline
    return ForecastRow(
        area=area,
        target=target,
        actuals_to_date=actuals_to_date,
        last_actual_month=last_actual_month,
        run_rate=run_rate,
        remaining_months=remaining_months,
        run_rate_projection=run_rate_projection,
        weighted_pipeline=weighted_pipeline,
        projected_total=projected_total,
        gap_to_target=None if target is None else target - projected_total,
        attainment_pct=percent(actuals_to_date, target),
        projected_attainment_pct=percent(projected_total, target),
        open_pipeline_count=open_pipeline_count,
        open_pipeline_mrr=open_pipeline_mrr,
    )


def effective_probability():
    """The probability a deal is weighted with, as a SQL expression.

    Closed deals have a known outcome (FIXED_PROBABILITY: a won deal counts at 100 even if
    someone left 90 in the column); an open deal uses its own probability, or its status
    default when it has none; a legacy status without a probability counts as 0.
    """
    fixed = [When(status__exactly=status, then=Value(p)) for status, p in FIXED_PROBABILITY.items()]
    defaults = [When(status__exactly=status, then=Value(p)) for status, p in DEFAULT_PROBABILITY.items()]
    return Case(
        *fixed,
        When(probability__isnull=False, then=F("probability")),
        *defaults,
        default=Value(0),
        output_field=IntegerField(),
    )


def scope_areas(scope: AreaScope) -> list[str]:
    """The areas of ``scope`` in the vocabulary's order (the order of the forecast's rows)."""
    return [area for area in Area.values if scope.allows(area)]


def _targets(fiscal_year: int, areas: list[str]) -> dict[str, Decimal]:
    rows = RevenueTarget.objects.filter(fiscal_year=fiscal_year, area__exactly_in=areas).values_list(
        "area", "target"
    )
    return dict(rows)


def _actuals(
    start: datetime.date, as_of: datetime.date, areas: list[str] = Area.values
) -> dict[str, tuple[Decimal, datetime.date, Decimal]]:
    """Per area of ``areas``: (sum of revenue, latest month, revenue of the latest month), in one query."""
    if not areas:
        return {}
    in_period = RevenueActual.objects.filter(month__gte=start, month__lte=as_of)
    latest_revenue = in_period.filter(area__exactly=OuterRef("area")).order_by("-month").values("revenue")[:1]
    rows = (
        in_period.filter(area__exactly_in=areas)
        .values("area")
        .annotate(
            total=Sum("revenue"),
            last_month=Max("month"),
            run_rate=Subquery(latest_revenue, output_field=SUM_FIELD),
        )
        .order_by()
    )
    return {r["area"]: (r["total"], r["last_month"], r["run_rate"]) for r in rows}


def _pipeline(
    start: datetime.date, end: datetime.date, areas: list[str] = Area.values
) -> dict[str, list[dict]]:
    """Per area of ``areas``, per close month in the fiscal year: weighted MRR (x100), open count, open MRR.

    The query reads crm_opportunities alone and looks each deal's area up in a correlated
    subquery on the customer's primary key. A join would let MySQL drive from ``customer``
    (its area index matches the filter) and fetch every opportunity through the cid index,
    one random read per deal: 26 s at 1M opportunities, against about 1.3 s for this form,
    where the opportunity table is always the one scanned (docs/indexes.md has the plans).
    A customer outside ``areas`` (another area of the vocabulary, or none of them) gives a NULL
    area, and its group is dropped here: a scope changes the subquery's list, not the plan.
    """
    if not areas:
        return {}
    # One row at most: the filter names the primary key.
    area_of_customer = Customer.objects.filter(cid=OuterRef("customer_id"), area__exactly_in=areas).order_by()
    rows = (
        Opportunity.objects.filter(expected_close_date__gte=start, expected_close_date__lte=end)
        .exclude(status__exactly=Status.CLOSED_LOST)
        .annotate(
            area=Subquery(area_of_customer.values("area")),
            close_month=TruncMonth("expected_close_date"),
        )
        # Only exact spellings are left, so grouping by the column itself is safe.
        .values("area", "close_month")
        .annotate(
            weighted_x100=Sum(F("est_monthly_revenue") * effective_probability(), output_field=SUM_FIELD),
            open_count=Count("oid", filter=OpportunityQuerySet.OPEN),
            open_mrr=Sum("est_monthly_revenue", filter=OpportunityQuerySet.OPEN),
        )
        .order_by()
    )
    by_area: dict[str, list[dict]] = {}
    for row in rows:
        if row["area"] is not None:
            by_area.setdefault(row["area"], []).append(row)
    return by_area


def forecast_compute(*, fiscal_year: int, as_of: datetime.date, scope: AreaScope) -> Forecast:
    """The forecast's rows for the areas of ``scope`` (every area for ALL) and their total.

    No query at all for a scope without areas: its answer has no row and an empty total.
    """
    start, end = fiscal_year_bounds(fiscal_year)
    areas = scope_areas(scope)
    targets = _targets(fiscal_year, areas) if areas else {}
    actuals = _actuals(start, as_of, areas)
    pipeline = _pipeline(start, end, areas)

    rows = []
    for area in areas:
        actuals_to_date, last_month, run_rate = actuals.get(area, (ZERO, None, ZERO))
        if last_month is not None:
            last_month = last_month.replace(day=1)
        remaining = MONTHS_IN_YEAR if last_month is None else months_after(last_month)
        weighted = ZERO
        open_count = 0
        open_mrr = ZERO
        for group in pipeline.get(area, []):
            close_month = group["close_month"]
            # The run rate already covers every month up to the last reported one.
            if last_month is not None and close_month <= last_month:
                continue
            weighted += (group["weighted_x100"] or ZERO) / 100 * months_after(close_month)
            open_count += group["open_count"]
            open_mrr += group["open_mrr"] or ZERO
        rows.append(
            _row(
                area=area,
                target=targets.get(area),
                actuals_to_date=money(actuals_to_date),
                last_actual_month=last_month,
                run_rate=money(run_rate),
                remaining_months=remaining,
                run_rate_projection=money(run_rate * remaining),
                weighted_pipeline=money(weighted),
                open_pipeline_count=open_count,
                open_pipeline_mrr=money(open_mrr),
            )
        )
    return Forecast(fiscal_year=fiscal_year, as_of=as_of, areas=rows, total=forecast_total(rows))


def forecast_row_of(stored) -> ForecastRow:
    """The ForecastRow an object with its fields holds (a stored snapshot row)."""
    return ForecastRow(**{f.name: getattr(stored, f.name) for f in dataclasses.fields(ForecastRow)})


def forecast_total(rows: list[ForecastRow]) -> ForecastRow:
    """Sums of the area rows; percentages recomputed from the sums.

    The total has a target only when every area has one: a partial sum would overstate
    attainment. For a scope the rows are its areas', so the same holds over them; without
    any row (a caller granted no area) the total has no target. Its last_actual_month is the
    latest of the areas' (remaining_months follows it), while run_rate_projection stays the
    sum of the areas' projections.
    """

    def total_of(name: str):
        return sum((getattr(r, name) for r in rows), ZERO)

    targets = [r.target for r in rows]
    months = [r.last_actual_month for r in rows if r.last_actual_month is not None]
    last_month = max(months) if months else None
    return _row(
        area="Total",
        target=None if not targets or any(t is None for t in targets) else sum(targets, ZERO),
        actuals_to_date=total_of("actuals_to_date"),
        last_actual_month=last_month,
        run_rate=total_of("run_rate"),
        remaining_months=MONTHS_IN_YEAR if last_month is None else months_after(last_month),
        run_rate_projection=total_of("run_rate_projection"),
        weighted_pipeline=total_of("weighted_pipeline"),
        open_pipeline_count=sum(r.open_pipeline_count for r in rows),
        open_pipeline_mrr=total_of("open_pipeline_mrr"),
    )

"""The fiscal-year forecast per area, against numbers computed by hand."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from crm.choices import Area, Status
from crm.forecast import ForecastRow
from crm.scopes import AreaScope
from crm.selectors import forecast_by_area
from crm.tests.factories import (
    CustomerFactory,
    OpportunityFactory,
    RevenueActualFactory,
    RevenueTargetFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
FY = 2025
AS_OF = datetime.date(2024, 12, 15)


def day(y, m, d=1):
    return datetime.date(y, m, d)


def deal(customer, status, mrr, close, probability="default"):
    kwargs = {} if probability == "default" else {"probability": probability}
    if status not in Status.values:
        # A legacy status has no default category.
        kwargs["forecast_category"] = None
    return OpportunityFactory(
        customer=customer, status=status, est_monthly_revenue=D(mrr), expected_close_date=close, **kwargs
    )


@pytest.fixture
def dataset():
    """Five areas, each showing one part of the formula (FY2025, as of 2024-12-15)."""
    # France: actuals Jul..Nov, a target, and one deal per pipeline case.
    for month, revenue in [(7, "100000"), (8, "110000"), (9, "120000"), (10, "130000"), (11, "140000")]:
        RevenueActualFactory(area=Area.FRANCE, month=day(2024, month), revenue=D(revenue))
    RevenueActualFactory(area=Area.FRANCE, month=day(2024, 6), revenue=D("200000"))  # FY2024
    RevenueActualFactory(area=Area.FRANCE, month=day(2025, 1), revenue=D("500000"))  # after as_of
    RevenueTargetFactory(area=Area.FRANCE, fiscal_year=FY, target=D("2000000.00"))
    RevenueTargetFactory(area=Area.FRANCE, fiscal_year=2026, target=D("3000000.00"))
    fr = CustomerFactory(area=Area.FRANCE)
    deal(fr, Status.NEGOTIATION, "1000.00", day(2024, 12, 20), 75)  # current month: 6 months after
    deal(fr, Status.PROPOSAL, "2000.00", day(2025, 3, 10), None)  # null -> Proposal default 50
    deal(fr, Status.PROSPECTING, "3000.00", day(2025, 6, 30), 10)  # June: 0 months after
    deal(fr, Status.QUALIFICATION, "4000.00", day(2025, 7, 15), 20)  # after the fiscal year
    deal(fr, Status.CLOSED_LOST, "5000.00", day(2025, 1, 10))  # excluded
    deal(fr, Status.CLOSED_WON, "600.00", day(2025, 2, 1), 90)  # counted at 100, not open
    deal(fr, Status.NEGOTIATION, "800.00", day(2024, 11, 5), 75)  # in last_actual_month: run rate
    deal(fr, Status.PROSPECTING, "1234.65", day(2025, 1, 31), 10)  # gives the half cent
    # Germany: no actuals at all, so every fiscal-year month is open to the pipeline.
    RevenueTargetFactory(area=Area.GERMANY, fiscal_year=FY, target=D("1200000.00"))
    de = CustomerFactory(area=Area.GERMANY)
    deal(de, Status.PROPOSAL, "1000.00", day(2024, 7, 20), 50)
    deal(de, Status.PROSPECTING, "9000.00", day(2024, 6, 15), 10)  # before the fiscal year
    # Switzerland: one month of actuals, no target.
    RevenueActualFactory(area=Area.SWITZERLAND, month=day(2024, 7), revenue=D("50000.00"))
    # Netherlands: a target and nothing else.
    RevenueTargetFactory(area=Area.NETHERLANDS, fiscal_year=FY, target=D("500000.00"))
    # UK: a legacy status outside the vocabulary, with and without a probability.
    RevenueActualFactory(area=Area.UK, month=day(2024, 10), revenue=D("70000.00"))
    RevenueTargetFactory(area=Area.UK, fiscal_year=FY, target=D("800000.00"))
    uk = CustomerFactory(area=Area.UK)
    deal(uk, "Verbal", "500.00", day(2025, 1, 15), None)
    deal(uk, "Verbal", "1000.00", day(2025, 4, 1), 40)
    # Legacy areas belong to no row: not "Austria", and not "france" or "France " either,
    # although MySQL's collations would call both equal to "France".
    for legacy_area in ("Austria", "france", "France "):
        deal(CustomerFactory(area=legacy_area), Status.PROPOSAL, "7777.00", day(2025, 1, 5), 50)
    RevenueActualFactory(area="Austria", month=day(2024, 8), revenue=D("99999.00"))
    RevenueActualFactory(area="France ", month=day(2024, 12), revenue=D("99999.00"))
    RevenueTargetFactory(area="Austria", fiscal_year=FY, target=D("1.00"))


def test_each_area_row_follows_the_formula(dataset):
    """Targets, actuals, run rate, weighted pipeline and gaps per area match the hand computation."""
    # when
    forecast = forecast_by_area(fiscal_year=FY, as_of=AS_OF, scope=AreaScope.ALL)

    # then
    assert (forecast.fiscal_year, forecast.as_of) == (FY, AS_OF)
    france, germany, switzerland, netherlands, uk = forecast.areas
    # France: actuals Jul..Nov = 100000 + 110000 + 120000 + 130000 + 140000 = 600000 (June is
    # FY2024, January starts after as_of); run rate = November = 140000; Dec..Jun = 7 months.
    # Weighted pipeline, months after the close month within FY2025:
    #   Negotiation Dec:   1000.00 x 75% x 6 (Jan..Jun) = 4500.00
    #   Proposal Mar:      2000.00 x 50% x 3 (null probability -> default 50) = 3000.00
    #   Prospecting Jun:   3000.00 x 10% x 0 = 0
    #   Closed Won Feb:     600.00 x 100% x 4 (stored 90 ignored) = 2400.00
    #   Prospecting Jan:   1234.65 x 10% x 5 = 617.325
    #   (Qualification Jul 2025: after FY; Closed Lost: excluded; Negotiation Nov: covered by actuals)
    #   = 10517.325 -> 10517.33 (half up)
    # projected = 600000 + 140000 x 7 + 10517.33 = 1590517.33; gap = 2000000 - 1590517.33
    # attainment = 600000 / 2000000 = 30.0 %; projected = 1590517.33 / 2000000 = 79.525... -> 79.5 %
    # open pipeline: the four open deals Dec..Jun = 1000 + 2000 + 3000 + 1234.65 = 7234.65
    assert france == ForecastRow(
        area="France",
        target=D("2000000.00"),
        actuals_to_date=D("600000.00"),
        last_actual_month=day(2024, 11),
        run_rate=D("140000.00"),
        remaining_months=7,
        run_rate_projection=D("980000.00"),
        weighted_pipeline=D("10517.33"),
        projected_total=D("1590517.33"),
        gap_to_target=D("409482.67"),
        attainment_pct=D("30.0"),
        projected_attainment_pct=D("79.5"),
        open_pipeline_count=4,
        open_pipeline_mrr=D("7234.65"),
    )
    # Germany: no actuals -> 12 remaining months, run rate 0; the July deal bills Aug..Jun:
    # 1000.00 x 50% x 11 = 5500.00 (the June 2024 deal is before the fiscal year).
    # projected 5500.00 / 1200000 = 0.458 % -> 0.5; gap = 1200000 - 5500 = 1194500.00.
    assert germany == ForecastRow(
        area="Germany",
        target=D("1200000.00"),
        actuals_to_date=D("0.00"),
        last_actual_month=None,
        run_rate=D("0.00"),
        remaining_months=12,
        run_rate_projection=D("0.00"),
        weighted_pipeline=D("5500.00"),
        projected_total=D("5500.00"),
        gap_to_target=D("1194500.00"),
        attainment_pct=D("0.0"),
        projected_attainment_pct=D("0.5"),
        open_pipeline_count=1,
        open_pipeline_mrr=D("1000.00"),
    )
    # Switzerland: July only -> run rate 50000 x 11 months = 550000; no target -> no gap, no %.
    assert switzerland == ForecastRow(
        area="Switzerland",
        target=None,
        actuals_to_date=D("50000.00"),
        last_actual_month=day(2024, 7),
        run_rate=D("50000.00"),
        remaining_months=11,
        run_rate_projection=D("550000.00"),
        weighted_pipeline=D("0.00"),
        projected_total=D("600000.00"),
        gap_to_target=None,
        attainment_pct=None,
        projected_attainment_pct=None,
        open_pipeline_count=0,
        open_pipeline_mrr=D("0.00"),
    )
    # Netherlands: nothing but a target: the whole target is the gap.
    assert netherlands == ForecastRow(
        area="Netherlands",
        target=D("500000.00"),
        actuals_to_date=D("0.00"),
        last_actual_month=None,
        run_rate=D("0.00"),
        remaining_months=12,
        run_rate_projection=D("0.00"),
        weighted_pipeline=D("0.00"),
        projected_total=D("0.00"),
        gap_to_target=D("500000.00"),
        attainment_pct=D("0.0"),
        projected_attainment_pct=D("0.0"),
        open_pipeline_count=0,
        open_pipeline_mrr=D("0.00"),
    )
    # UK: October -> 8 remaining months (Nov..Jun): 70000 x 8 = 560000.
    # "Verbal" (legacy status) counts as open: without probability 0, with 40 %:
    # 1000.00 x 40% x 2 (May, Jun) = 800.00. projected = 70000 + 560000 + 800 = 630800.
    # attainment 70000 / 800000 = 8.75 -> 8.8; projected 630800 / 800000 = 78.85 -> 78.9 (half up).
    assert uk == ForecastRow(
        area="UK",
        target=D("800000.00"),
        actuals_to_date=D("70000.00"),
        last_actual_month=day(2024, 10),
        run_rate=D("70000.00"),
        remaining_months=8,
        run_rate_projection=D("560000.00"),
        weighted_pipeline=D("800.00"),
        projected_total=D("630800.00"),
        gap_to_target=D("169200.00"),
        attainment_pct=D("8.8"),
        projected_attainment_pct=D("78.9"),
        open_pipeline_count=2,
        open_pipeline_mrr=D("1500.00"),
    )


def test_total_row_sums_the_areas_and_has_no_target_when_one_is_missing(dataset):
    """The total adds up the five rows; Switzerland has no target, so neither has the total."""
    forecast = forecast_by_area(fiscal_year=FY, as_of=AS_OF, scope=AreaScope.ALL)

    # actuals 600000 + 0 + 50000 + 0 + 70000; run rates 140000 + 50000 + 70000;
    # projections 980000 + 550000 + 560000; weighted 10517.33 + 5500 + 800;
    # projected 720000 + 2090000 + 16817.33. The latest last month is November -> 7 months.
    assert forecast.total == ForecastRow(
        area="Total",
        target=None,
        actuals_to_date=D("720000.00"),
        last_actual_month=day(2024, 11),
        run_rate=D("260000.00"),
        remaining_months=7,
        run_rate_projection=D("2090000.00"),
        weighted_pipeline=D("16817.33"),
        projected_total=D("2826817.33"),
        gap_to_target=None,
        attainment_pct=None,
        projected_attainment_pct=None,
        open_pipeline_count=7,
        open_pipeline_mrr=D("9734.65"),
    )


def test_total_percentages_are_recomputed_from_the_sums():
    """With every target present the total's percentages come from the summed money, not an average."""
    # given: targets France 100000, Germany 300000, the other three 200000 each = 1000000
    for area, target in zip(Area.values, ["100000", "300000", "200000", "200000", "200000"], strict=True):
        RevenueTargetFactory(area=area, fiscal_year=FY, target=D(target))
    RevenueActualFactory(area=Area.FRANCE, month=day(2024, 7), revenue=D("10000.00"))
    RevenueActualFactory(area=Area.GERMANY, month=day(2024, 7), revenue=D("20000.00"))

    # when
    forecast = forecast_by_area(fiscal_year=FY, as_of=AS_OF, scope=AreaScope.ALL)

    # then: France 10000 / 100000 = 10.0 %, Germany 20000 / 300000 = 6.67 -> 6.7 %, others 0.0 %
    assert [r.attainment_pct for r in forecast.areas] == [D("10.0"), D("6.7"), D("0"), D("0"), D("0")]
    # total: 30000 / 1000000 = 3.0 % (the mean of the area percentages would be 3.3 %);
    # projected (10000 + 10000 x 11) + (20000 + 20000 x 11) = 360000 -> 36.0 %; gap 640000.
    total = forecast.total
    assert (total.target, total.actuals_to_date, total.projected_total, total.gap_to_target) == (
        D("1000000.00"),
        D("30000.00"),
        D("360000.00"),
        D("640000.00"),
    )
    assert (total.attainment_pct, total.projected_attainment_pct) == (D("3.0"), D("36.0"))


def test_empty_database_gives_five_zero_rows_without_targets():
    """No data at all: five areas with zeros, no targets, twelve remaining months."""
    forecast = forecast_by_area(fiscal_year=FY, as_of=AS_OF, scope=AreaScope.ALL)

    assert [r.area for r in forecast.areas] == Area.values
    for row in [*forecast.areas, forecast.total]:
        assert (row.target, row.actuals_to_date, row.weighted_pipeline, row.remaining_months) == (
            None,
            D("0"),
            D("0"),
            12,
        )


def test_query_count_does_not_grow_with_the_number_of_opportunities(django_assert_num_queries):
    """Targets, actuals and pipeline: three queries for one deal and for sixty."""
    # given
    customer = CustomerFactory(area=Area.FRANCE)
    RevenueActualFactory(area=Area.FRANCE, month=day(2024, 10), revenue=D("1000.00"))
    deal(customer, Status.PROPOSAL, "100.00", day(2025, 2, 1), 50)
    with django_assert_num_queries(3):
        few = forecast_by_area(fiscal_year=FY, as_of=AS_OF, scope=AreaScope.ALL)

    # when: 59 more deals across all areas and months
    for n in range(59):
        area = Area.values[n % 5]
        deal(CustomerFactory(area=area), Status.PROPOSAL, "100.00", day(2025, 1 + n % 6, 1), 50)

    # then
    with django_assert_num_queries(3):
        many = forecast_by_area(fiscal_year=FY, as_of=AS_OF, scope=AreaScope.ALL)
    assert many.total.open_pipeline_count == few.total.open_pipeline_count + 59


@pytest.mark.parametrize(
    ("today", "expected_as_of"),
    [
        (day(2025, 1, 20), day(2025, 1, 20)),  # inside FY2025: today
        (day(2025, 9, 10), day(2025, 6, 30)),  # after it: its last day
        (day(2024, 3, 1), day(2024, 7, 1)),  # before it: its first day
    ],
)
def test_defaults_to_the_latest_actuals_year_and_today_clamped(monkeypatch, today, expected_as_of):
    """No parameters: the fiscal year of the latest actuals month, as of today clamped into it."""
    # given: the latest actual is November 2024, so FY2025
    RevenueActualFactory(area=Area.FRANCE, month=day(2024, 11), revenue=D("1000.00"))
    RevenueActualFactory(area=Area.UK, month=day(2024, 2), revenue=D("1000.00"))
    monkeypatch.setattr("crm.forecast.today", lambda: today)

    forecast = forecast_by_area(scope=AreaScope.ALL)

    assert (forecast.fiscal_year, forecast.as_of) == (2025, expected_as_of)


def test_defaults_to_the_current_fiscal_year_without_actuals(monkeypatch):
    """No actuals: the fiscal year of today (August 2025 is FY2026)."""
    monkeypatch.setattr("crm.forecast.today", lambda: day(2025, 8, 3))

    forecast = forecast_by_area(scope=AreaScope.ALL)

    assert (forecast.fiscal_year, forecast.as_of) == (2026, day(2025, 8, 3))


def test_as_of_alone_picks_its_own_fiscal_year(monkeypatch):
    """An as_of without a fiscal year is computed for the fiscal year it falls in."""
    RevenueActualFactory(area=Area.FRANCE, month=day(2025, 11), revenue=D("1000.00"))  # FY2026

    forecast = forecast_by_area(as_of=day(2024, 12, 15), scope=AreaScope.ALL)

    assert (forecast.fiscal_year, forecast.as_of) == (2025, day(2024, 12, 15))


def test_as_of_outside_the_fiscal_year_is_refused():
    """An explicit as_of outside the explicit fiscal year is an error naming as_of, not clamped."""
    with pytest.raises(ValidationError) as exc:
        forecast_by_area(fiscal_year=2025, as_of=day(2025, 7, 1), scope=AreaScope.ALL)

    assert list(exc.value.message_dict) == ["as_of"]

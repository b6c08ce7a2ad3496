"""The data-quality report: each rule fires on the rows that break it, and only on those."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from crm import data_quality
from crm.choices import Area, ForecastCategory, Status
from crm.data_quality import ERROR, WARNING
from crm.models import Change, Customer, Opportunity, RevenueActual, RevenueTarget
from crm.scopes import AreaScope
from crm.selectors import data_quality_report
from crm.services import opportunity_create, opportunity_update
from crm.tests.factories import (
    CustomerFactory,
    OpportunityFactory,
    RevenueActualFactory,
    RevenueTargetFactory,
)

pytestmark = pytest.mark.django_db

FY = 2025
AS_OF = datetime.date(2024, 12, 15)
IN_FY_AFTER_AS_OF = datetime.date(2025, 3, 1)


def day(y, m, d=1):
    return datetime.date(y, m, d)


@pytest.fixture
def clean_data():
    """A dataset that breaks no rule: every target, contiguous actuals, one tidy customer and deal."""
    for area in Area.values:
        RevenueTargetFactory(area=area, fiscal_year=FY, target=Decimal("1000000.00"))
    for month in (7, 8, 9):
        RevenueActualFactory(area=Area.FRANCE, month=day(2024, month))
    RevenueActualFactory(area=Area.GERMANY, month=day(2024, 12))
    RevenueActualFactory(area=Area.GERMANY, month=day(2025, 1))  # across the calendar year: no gap
    customer = CustomerFactory(
        cid=1, customer_name="Clean Customer SA", area=Area.FRANCE, contract_start_date=day(2024, 1)
    )
    OpportunityFactory(customer=customer, status=Status.PROPOSAL, expected_close_date=IN_FY_AFTER_AS_OF)
    # Near misses: each is one step short of breaking a rule.
    CustomerFactory(cid=2, customer_name="Clean Customer SAS", contract_start_date=day(2024, 1))
    CustomerFactory(cid=3, contract_start_date=day(2024, 1), contract_end_date=day(2024, 1))
    OpportunityFactory(customer=customer, status=Status.NEGOTIATION, expected_close_date=AS_OF)
    OpportunityFactory(customer=customer, status=Status.CLOSED_WON, expected_close_date=day(2024, 10))
    OpportunityFactory(customer=customer, status=Status.CLOSED_LOST, expected_close_date=day(2024, 9))
    OpportunityFactory(customer=customer, status=Status.PROSPECTING, expected_close_date=day(2025, 6, 30))
    for kwargs in (
        {"probability": None, "forecast_category": None},
        {"status": Status.CLOSED_WON, "probability": None, "forecast_category": None},
        {"est_monthly_revenue": Decimal("0.01")},
    ):
        OpportunityFactory(customer=customer, expected_close_date=IN_FY_AFTER_AS_OF, **kwargs)
    return customer


def _fired(report) -> dict:
    return {r.id: (r.count, r.examples) for r in report.rules if r.count}


def test_clean_data_breaks_no_rule(clean_data):
    """Every rule is listed with count 0 and no examples; no errors, no warnings."""
    report = data_quality_report(fiscal_year=FY, as_of=AS_OF, scope=AreaScope.ALL)

    assert _fired(report) == {}
    assert (report.errors, report.warnings) == (0, 0)
    assert len(report.rules) == 20
    assert all(r.examples == [] for r in report.rules)


def _opp(customer, **kwargs):
    kwargs.setdefault("expected_close_date", IN_FY_AFTER_AS_OF)
    return OpportunityFactory(customer=customer, **kwargs).oid


def _customer(cid, **kwargs):
    kwargs.setdefault("contract_start_date", day(2024, 1))
    return str(CustomerFactory(cid=cid, **kwargs).cid)


# Each case: the rows it adds to the clean data -> (count, examples) of the one rule expected to fire.
def case_customer_area_unknown(c):
    # Exact spelling only, on MySQL too (its collations would call "france" and "France " "France").
    return 3, [_customer(101, area="Austria"), _customer(102, area="france"), _customer(103, area="France ")]


def case_account_executive_missing(c):
    return 2, [_customer(101, account_executive=None), _customer(102, account_executive="   ")]


def case_technical_specialist_missing(c):
    return 2, [_customer(101, technical_specialist=None), _customer(102, technical_specialist="")]


def case_contract_end_before_start(c):
    return 1, [_customer(101, contract_start_date=day(2024, 5), contract_end_date=day(2024, 4, 30))]


def case_name_blank_or_padded(c):
    return 3, [
        _customer(101, customer_name=" Leading GmbH"),
        _customer(102, customer_name="Trailing SA "),
        _customer(103, customer_name="   "),
    ]


def case_name_duplicate(c):
    # "Clean Customer SA" (cid 1) again, in other case and with spaces moved.
    return 2, ["1", _customer(101, customer_name="CLEAN  customer sa")]


def case_status_unknown(c):
    return 2, sorted(
        [
            # "Closed" on an unknown status is this rule's finding, not a category one (as the API).
            _opp(c, status="Won", probability=100, forecast_category=ForecastCategory.CLOSED),
            _opp(c, status="closed won", probability=100, forecast_category=None),
        ]
    )


def case_product_unknown(c):
    return 1, [_opp(c, product="Payroll Plus")]


def case_forecast_category_unknown(c):
    return 1, [_opp(c, forecast_category="Upside")]


def case_probability_inconsistent(c):
    return 3, sorted(
        [
            _opp(c, status=Status.CLOSED_WON, probability=90),
            _opp(c, status=Status.CLOSED_LOST, probability=10),
            _opp(c, status=Status.PROSPECTING, probability=150),
        ]
    )


def case_forecast_category_inconsistent(c):
    return 3, sorted(
        [
            _opp(c, status=Status.CLOSED_WON, forecast_category=ForecastCategory.COMMIT),
            _opp(c, status=Status.CLOSED_LOST, forecast_category=ForecastCategory.PIPELINE),
            _opp(c, status=Status.PROSPECTING, forecast_category=ForecastCategory.CLOSED),
        ]
    )


def case_est_monthly_revenue_not_positive(c):
    return 2, sorted(
        [_opp(c, est_monthly_revenue=Decimal("0.00")), _opp(c, est_monthly_revenue=Decimal("-5"))]
    )


def case_overdue(c):
    # Ordered by expected close date; as_of itself is not overdue (clean data has one).
    return 2, [
        _opp(c, status=Status.QUALIFICATION, expected_close_date=day(2024, 11, 30)),
        _opp(c, status=Status.NEGOTIATION, expected_close_date=day(2024, 12, 14)),
    ]


def case_close_after_fiscal_year(c):
    return 1, [_opp(c, expected_close_date=day(2025, 7, 1))]


def case_customer_inactive(c):
    inactive = CustomerFactory(cid=101, is_active=False, contract_start_date=day(2024, 1))
    return 1, [_opp(inactive)]


def case_changed_outside_history(c):
    customer = CustomerFactory(cid=102, contract_start_date=day(2024, 1))
    recorded = opportunity_create(
        cid=customer.cid,
        opportunity_name="Recorded",
        product="Payroll",
        status=Status.PROPOSAL,
        est_monthly_revenue=Decimal("100.00"),
        expected_close_date=IN_FY_AFTER_AS_OF,
    )
    changed_behind = opportunity_create(
        cid=customer.cid,
        opportunity_name="Changed behind",
        product="Payroll",
        status=Status.PROPOSAL,
        est_monthly_revenue=Decimal("100.00"),
        expected_close_date=IN_FY_AFTER_AS_OF,
    )
    opportunity_update(opportunity=recorded, probability=45)
    # Another tool writes straight into the table: updated_at moves, no entry is recorded.
    later = Change.objects.get(key=changed_behind.oid).at + datetime.timedelta(seconds=5)
    Opportunity.objects.filter(oid=changed_behind.oid).update(
        opportunity_name="Renamed in SQL", updated_at=later
    )
    return 1, [changed_behind.oid]


def case_target_missing(c):
    RevenueTarget.objects.filter(area=Area.UK, fiscal_year=FY).delete()
    RevenueTargetFactory(area="Austria", fiscal_year=FY)  # counts elsewhere, never for UK
    RevenueTarget.objects.filter(area="Austria").delete()
    return 1, ["UK"]


def case_actuals_month_missing(c):
    RevenueActualFactory(area=Area.UK, month=day(2024, 11))
    RevenueActualFactory(area=Area.UK, month=day(2025, 2))
    RevenueActualFactory(area=Area.FRANCE, month=day(2024, 11))  # France has Jul..Sep
    return 3, ["France 2024-10", "UK 2024-12", "UK 2025-01"]


def case_actuals_area_unknown(c):
    RevenueActualFactory(area="Austria", month=day(2024, 7))
    RevenueActualFactory(area="France ", month=day(2024, 12))
    return 2, ["Austria 2024-07", "France  2024-12"]


def case_targets_area_unknown(c):
    RevenueTargetFactory(area="Austria", fiscal_year=FY)
    return 1, ["Austria FY2025"]


CASES = {
    "customer.area_unknown": case_customer_area_unknown,
    "customer.account_executive_missing": case_account_executive_missing,
    "customer.technical_specialist_missing": case_technical_specialist_missing,
    "customer.contract_end_before_start": case_contract_end_before_start,
    "customer.name_blank_or_padded": case_name_blank_or_padded,
    "customer.name_duplicate": case_name_duplicate,
    "opportunity.status_unknown": case_status_unknown,
    "opportunity.product_unknown": case_product_unknown,
    "opportunity.forecast_category_unknown": case_forecast_category_unknown,
    "opportunity.probability_inconsistent": case_probability_inconsistent,
    "opportunity.forecast_category_inconsistent": case_forecast_category_inconsistent,
    "opportunity.est_monthly_revenue_not_positive": case_est_monthly_revenue_not_positive,
    "opportunity.overdue": case_overdue,
    "opportunity.close_after_fiscal_year": case_close_after_fiscal_year,
    "opportunity.changed_outside_history": case_changed_outside_history,
    "opportunity.customer_inactive": case_customer_inactive,
    "revenue.target_missing": case_target_missing,
    "revenue.actuals_month_missing": case_actuals_month_missing,
    "revenue.actuals_area_unknown": case_actuals_area_unknown,
    "revenue.targets_area_unknown": case_targets_area_unknown,
}

LEVELS = {
    "customer.area_unknown": ERROR,
    "customer.account_executive_missing": WARNING,
    "customer.technical_specialist_missing": WARNING,
    "customer.contract_end_before_start": ERROR,
    "customer.name_blank_or_padded": WARNING,
    "customer.name_duplicate": WARNING,
    "opportunity.status_unknown": ERROR,
    "opportunity.product_unknown": ERROR,
    "opportunity.forecast_category_unknown": ERROR,
    "opportunity.probability_inconsistent": ERROR,
    "opportunity.forecast_category_inconsistent": ERROR,
    "opportunity.est_monthly_revenue_not_positive": ERROR,
    "opportunity.overdue": WARNING,
    "opportunity.close_after_fiscal_year": WARNING,
    "opportunity.changed_outside_history": WARNING,
    "opportunity.customer_inactive": WARNING,
    "revenue.target_missing": WARNING,
    "revenue.actuals_month_missing": ERROR,
    "revenue.actuals_area_unknown": ERROR,
    "revenue.targets_area_unknown": ERROR,
}


# The two ways the report finds an opportunity rule's examples (crm/data_quality.py):
# every rule "rare" (one shared scan, sorted in Python) or none (the close-date index walk).
EXAMPLE_STRATEGIES = pytest.mark.parametrize("rare", [10**9, 0], ids=["scan", "index-walk"])


@EXAMPLE_STRATEGIES
@pytest.mark.parametrize("rule_id", list(CASES))
def test_rule_fires_on_the_rows_that_break_it_and_nothing_else_fires(clean_data, rule_id, rare, monkeypatch):
    """Adding the offending rows makes exactly this rule fire, with their keys as examples."""
    # given
    monkeypatch.setattr(data_quality, "_RARE", rare)
    expected = CASES[rule_id](clean_data)

    # when
    report = data_quality_report(fiscal_year=FY, as_of=AS_OF, scope=AreaScope.ALL)

    # then
    assert _fired(report) == {rule_id: expected}
    level = LEVELS[rule_id]
    assert (report.errors, report.warnings) == ((1, 0) if level == ERROR else (0, 1))


def test_rules_have_the_documented_ids_order_entities_and_levels(clean_data):
    """Ids, entity and level of every rule, in report order (docs/forecast.md lists the same)."""
    report = data_quality_report(fiscal_year=FY, as_of=AS_OF, scope=AreaScope.ALL)

    assert [(r.id, r.level) for r in report.rules] == list(LEVELS.items())
    assert all(r.entity == r.id.split(".")[0] for r in report.rules)


def test_examples_stop_at_twenty_but_the_count_does_not():
    """25 customers without an account executive: count 25, the first 20 cids as examples."""
    for cid in range(200, 225):
        CustomerFactory(cid=cid, account_executive=None)

    report = data_quality_report(fiscal_year=FY, as_of=AS_OF, scope=AreaScope.ALL)

    rule = next(r for r in report.rules if r.id == "customer.account_executive_missing")
    assert (rule.count, rule.examples) == (25, [str(cid) for cid in range(200, 220)])


@EXAMPLE_STRATEGIES
def test_opportunity_examples_are_the_first_twenty_by_close_date_and_oid(clean_data, rare, monkeypatch):
    """25 unknown statuses, 3 unknown products: the counts, and each rule's first examples in list order."""
    monkeypatch.setattr(data_quality, "_RARE", rare)
    statuses = [
        _opp(
            clean_data,
            status="Won",
            probability=None,
            forecast_category=None,
            expected_close_date=day(2025, 1, 1 + n % 5),
        )
        for n in range(25)
    ]
    products = [_opp(clean_data, product="Consulting", expected_close_date=day(2024, 9, 1)) for _ in range(3)]
    by_list_order = Opportunity.objects.order_by("expected_close_date", "oid").values_list("oid", flat=True)

    fired = _fired(data_quality_report(fiscal_year=FY, as_of=AS_OF, scope=AreaScope.ALL))

    assert fired["opportunity.status_unknown"] == (
        25,
        [oid for oid in by_list_order if oid in statuses][:20],
    )
    assert fired["opportunity.product_unknown"] == (3, [oid for oid in by_list_order if oid in products])


def test_report_changes_nothing(clean_data):
    """Running the report leaves every table exactly as it was."""

    def snapshot():
        return [
            list(m.objects.order_by("pk").values())
            for m in (Customer, Opportunity, RevenueActual, RevenueTarget)
        ]

    case_name_blank_or_padded(clean_data)
    case_probability_inconsistent(clean_data)
    before = snapshot()

    data_quality_report(fiscal_year=FY, as_of=AS_OF, scope=AreaScope.ALL)

    assert snapshot() == before


def test_overdue_and_fiscal_year_end_follow_the_parameters(clean_data):
    """as_of decides what is overdue and fiscal_year what lies beyond the year's end."""
    oid = _opp(clean_data, expected_close_date=day(2025, 8, 1))

    in_fy2026 = data_quality_report(fiscal_year=2026, as_of=day(2025, 9, 1), scope=AreaScope.ALL)

    fired = _fired(in_fy2026)
    # In FY2026, as of September: the August deal and the clean set's open deals are overdue,
    # nothing lies beyond June 2026, and FY2026 has no targets at all.
    assert "opportunity.close_after_fiscal_year" not in fired
    assert oid in fired["opportunity.overdue"][1]
    assert fired["revenue.target_missing"] == (5, Area.values)


def _history_statements(statements) -> list[str]:
    # The "changed outside history" rule's one statement (crm/data_quality.py).
    return [s["sql"] for s in statements if "OVER ()" in s["sql"]]


@pytest.fixture
def committed(transactional_db):
    """Real transactions; the rows are deleted afterwards.

    transactional_db does not clean the unmanaged tables, so this fixture does.
    """
    yield
    for model in (Opportunity, Customer, RevenueActual, RevenueTarget):
        model.objects.all().delete()


def test_outside_a_transaction_the_history_rule_runs_alongside_and_answers_the_same(committed, clean_data):
    """Committed data: the history rule runs on a second connection, and the report is the one
    read inside a transaction, on the caller's connection, rule for rule."""
    # given: one deal changed behind the history's back, one with a padded customer name
    expected = case_changed_outside_history(clean_data)
    case_name_blank_or_padded(clean_data)

    # when
    with CaptureQueriesContext(connection) as outside:
        alongside = data_quality.data_quality_compute(fiscal_year=FY, as_of=AS_OF, scope=AreaScope.ALL)
    with transaction.atomic(), CaptureQueriesContext(connection) as inside:
        on_one_connection = data_quality.data_quality_compute(
            fiscal_year=FY, as_of=AS_OF, scope=AreaScope.ALL
        )

    # then
    assert _fired(alongside)["opportunity.changed_outside_history"] == expected
    assert alongside == on_one_connection
    assert _history_statements(outside.captured_queries) == []
    assert len(_history_statements(inside.captured_queries)) == 1


def test_inside_a_transaction_the_report_sees_its_uncommitted_rows(committed, clean_data):
    """A deal changed behind the history's back in the caller's open transaction is flagged."""
    with transaction.atomic():
        expected = case_changed_outside_history(clean_data)

        report = data_quality.data_quality_compute(fiscal_year=FY, as_of=AS_OF, scope=AreaScope.ALL)

        assert _fired(report)["opportunity.changed_outside_history"] == expected

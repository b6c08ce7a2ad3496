"""manage.py data_quality: the report as text or JSON, failing when an error-level rule is broken."""

import datetime
import json

import pytest
from django.core.management import CommandError, call_command

from crm.choices import Area, Status
from crm.management.commands.load_demo_data import DEFECTS
from crm.models import Customer, Opportunity
from crm.tests.factories import CustomerFactory, OpportunityFactory, RevenueTargetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def targets():
    for area in Area.values:
        RevenueTargetFactory(area=area, fiscal_year=2025)


def test_only_warnings_exit_zero_and_print_text(targets, capsys):
    """A missing assignment is a warning: the text report names it, and the command succeeds."""
    CustomerFactory(cid=7, account_executive=None, contract_start_date=datetime.date(2024, 1, 1))

    call_command("data_quality", "--fiscal-year", "2025", "--as-of", "2024-12-15")

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "Data quality, fiscal year 2025, as of 2024-12-15: 0 error rule(s) and 1 warning rule(s) broken."
    )
    assert lines[1].split(maxsplit=3) == [
        "ok",
        "customer.area_unknown",
        "0",
        "Customer area outside the five areas.",
    ]
    assert lines[2].split()[:3] == ["WARNING", "customer.account_executive_missing", "1"]
    assert lines[3].split() == ["e.g.", "7"]


def test_an_error_rule_exits_non_zero_after_printing_the_report(targets, capsys):
    """est_monthly_revenue <= 0 is an error: exit status 2, the broken rules named."""
    customer = CustomerFactory(contract_start_date=datetime.date(2024, 1, 1))
    oid = OpportunityFactory(
        customer=customer, est_monthly_revenue=0, expected_close_date=datetime.date(2025, 2, 1)
    ).oid

    with pytest.raises(CommandError) as exc:
        call_command("data_quality", "--json", "--as-of", "2024-12-15")

    assert exc.value.returncode == 2
    assert str(exc.value) == "1 error-level rule(s) broken: opportunity.est_monthly_revenue_not_positive"
    report = json.loads(capsys.readouterr().out)
    assert (report["fiscal_year"], report["as_of"], report["errors"], report["warnings"]) == (
        2025,
        "2024-12-15",
        1,
        0,
    )
    fired = [r for r in report["rules"] if r["count"]]
    assert fired == [
        {
            "id": "opportunity.est_monthly_revenue_not_positive",
            "entity": "opportunity",
            "level": "error",
            "description": "Estimated monthly revenue zero or negative.",
            "count": 1,
            "examples": [oid],
        }
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "15/12/2024"], "--as-of: '15/12/2024' is not a date (YYYY-MM-DD)."),
        (["--fiscal-year", "0"], "fiscal_year must be between 1901 and 9999."),
        (
            ["--fiscal-year", "2025", "--as-of", "2025-07-01"],
            "as_of must fall within fiscal year 2025 (2024-07-01 .. 2025-06-30).",
        ),
    ],
)
def test_bad_arguments_are_refused(args, message):
    """A malformed date or an as_of outside the fiscal year stops the command with a clear message."""
    with pytest.raises(CommandError) as exc:
        call_command("data_quality", *args)

    assert str(exc.value) == message


def test_finds_every_deliberate_defect_of_the_demo_data(capsys):
    """Each defect listed in load_demo_data.DEFECTS is reported by its rule, and the command fails."""
    # given
    call_command("load_demo_data")
    capsys.readouterr()
    assert "4007" in DEFECTS and "Netherlands" in DEFECTS  # the list this test mirrors

    # when
    with pytest.raises(CommandError):
        call_command("data_quality", "--json", "--fiscal-year", "2025", "--as-of", "2024-12-15")

    # then
    fired = {
        r["id"]: (r["count"], r["examples"])
        for r in json.loads(capsys.readouterr().out)["rules"]
        if r["count"]
    }
    inactive_deal = Opportunity.objects.get(customer__cid=5011).oid
    won_at_90 = Opportunity.objects.get(status=Status.CLOSED_WON, probability=90).oid
    overdue = Opportunity.objects.get(status=Status.NEGOTIATION, expected_close_date="2024-11-20").oid
    late = sorted(
        Opportunity.objects.filter(expected_close_date__gt="2025-06-30").values_list(
            "oid", "expected_close_date"
        ),
        key=lambda row: row[1],
    )
    assert fired == {
        "customer.area_unknown": (1, ["9001"]),
        "customer.account_executive_missing": (2, ["2004", "3005"]),
        # 9001, the legacy customer, has no technical specialist either.
        "customer.technical_specialist_missing": (4, ["1003", "3005", "5006", "9001"]),
        "customer.contract_end_before_start": (1, ["4007"]),
        "customer.name_blank_or_padded": (1, ["1008"]),
        "customer.name_duplicate": (2, ["2009", "2010"]),
        "opportunity.probability_inconsistent": (1, [won_at_90]),
        "opportunity.overdue": (1, [overdue]),
        "opportunity.close_after_fiscal_year": (2, [oid for oid, _ in late]),
        "opportunity.customer_inactive": (1, [inactive_deal]),
        "revenue.actuals_month_missing": (1, ["Netherlands 2024-09"]),
    }
    assert Customer.objects.count() == 276  # the report changed nothing

"""The workbook import end to end: the documented report, dry run vs real run, round trip."""

import io
from decimal import Decimal

import pytest

from crm.imports.export import workbook_export
from crm.imports.models import ImportRun
from crm.imports.runs import import_run
from crm.models import Change, Customer, Opportunity, RevenueActual, RevenueTarget
from crm.services import write_context_current
from crm.tests.imports import workbooks
from crm.tests.imports.workbooks import OID, UNKNOWN_OID

pytestmark = pytest.mark.django_db

MODELS = (Customer, Opportunity, RevenueActual, RevenueTarget)


def _snapshot() -> dict:
    """Every row of the four tables, without ids and timestamps."""
    skip = {"id", "created_at", "updated_at"}
    return {
        model._meta.db_table: sorted(
            (
                tuple(sorted((k, v) for k, v in row.items() if k not in skip))
                for row in model.objects.values()
            ),
            key=repr,
        )
        for model in MODELS
    }


def _run(content: bytes, name="test.xlsx", **options) -> dict:
    options.setdefault("dry_run", False)
    options.setdefault("partial", False)
    return import_run(files=[(name, io.BytesIO(content))], **options).report


EXPECTED_COUNTS = {
    "customer": {"created": 1, "updated": 1, "unchanged": 1, "error": 4},
    "crm_opportunities": {"created": 1, "updated": 1, "unchanged": 0, "error": 8},
    "revenue_actuals": {"created": 1, "updated": 0, "unchanged": 1, "error": 2},
    "revenue_targets": {"created": 1, "updated": 1, "unchanged": 0, "error": 1},
}

CUSTOMER, OPPS, ACTUALS, TARGETS = " Customer ", "CRM Opportunities", "revenue_actuals", "Revenue Targets"
EXPECTED_ERRORS = [
    (CUSTOMER, 4, "cid", "duplicate", "Customer 5001 is also on row 2."),
    (CUSTOMER, 5, "area", "invalid_choice", "Must be one of: France, Germany, Switzerland, Netherlands, UK."),
    (CUSTOMER, 6, "is_active", "invalid", "Cell D6: Must be 1/0, true/false or yes/no."),
    (CUSTOMER, 7, "contract_end_date", "end_before_start", "The contract cannot end before it starts."),
    (OPPS, 4, "cid", "does_not_exist", "Customer 999999 does not exist."),
    # 5003 is in the file, but its row is in error: it will not exist.
    (OPPS, 5, "cid", "does_not_exist", "Customer 5003 does not exist."),
    (
        OPPS, 6, "probability", "inconsistent_with_status",
        "A Closed Won opportunity must have probability 100.",
    ),
    (
        OPPS, 7, "est_monthly_revenue", "formula_without_value",
        "Cell F7 has a formula but no saved value; formulas are not evaluated (open the file in Excel, "
        "save it, and import it again, or paste the values).",
    ),
    (
        OPPS, 8, "oid", "does_not_exist",
        f"Opportunity {UNKNOWN_OID} does not exist; leave oid empty to create a new opportunity.",
    ),
    (OPPS, 9, "expected_close_date", "invalid", "Cell I9: A date is required (an Excel date or YYYY-MM-DD)."),
    (OPPS, 10, "est_monthly_revenue", "cell_error", "Cell F10 holds the error #DIV/0!."),
    (OPPS, 11, "product", "invalid_choice", "Must be one of: Accounting, Time Entry, Payroll, Expenses."),
    (ACTUALS, 4, "month", "not_first_of_month", "Must be the first day of a month."),
    (ACTUALS, 5, "revenue", "min_value", "Must be 0 or more."),
    (TARGETS, 4, "fiscal_year", "duplicate", "UK 2026 is also on row 3."),
]  # fmt: skip

NEW_CUSTOMER = {
    "customer_name": "Nordsee GmbH", "account_executive": None, "technical_specialist": None,
    "industry": None, "contract_type": None, "area": "Germany", "contract_start_date": None,
    "contract_end_date": None, "is_active": True, "is_key_account": False,
}  # fmt: skip
NEW_OPPORTUNITY = {
    "cid": 5002, "opportunity_name": "Time entry pilot", "product": "Time Entry", "status": "Prospecting",
    "est_monthly_revenue": "2500.50", "probability": 10, "forecast_category": "Pipeline",
    "expected_close_date": "2025-06-30",
}  # fmt: skip
EXPECTED_CHANGES = [
    {"sheet": CUSTOMER, "row": 3, "action": "created", "key": {"cid": 5002}, "values": NEW_CUSTOMER},
    {
        "sheet": CUSTOMER, "row": 8, "action": "updated", "key": {"cid": 5006},
        "changes": {"customer_name": {"from": "Old Name AG", "to": "New Name AG"}},
    },
    {
        "sheet": OPPS, "row": 2, "action": "updated", "key": {"oid": OID},
        "changes": {
            "status": {"from": "Proposal", "to": "Negotiation"},
            "probability": {"from": 50, "to": 75},
            "forecast_category": {"from": "Best Case", "to": "Commit"},
        },
    },
    {"sheet": OPPS, "row": 3, "action": "created", "key": {"oid": None}, "values": NEW_OPPORTUNITY},
    {
        "sheet": ACTUALS, "row": 3, "action": "created", "key": {"area": "France", "month": "2024-08-01"},
        "values": {"revenue": "95000.50"},
    },
    {
        "sheet": TARGETS, "row": 2, "action": "updated", "key": {"area": "France", "fiscal_year": 2025},
        "changes": {"target": {"from": "1200000.00", "to": "1300000.00"}},
    },
    {
        "sheet": TARGETS, "row": 3, "action": "created", "key": {"area": "UK", "fiscal_year": 2026},
        "values": {"target": "500000.00"},
    },
]  # fmt: skip


def _changes(report: dict) -> list[dict]:
    return [row for row in report["rows"] if row["action"] != "error"]


def _errors(report: dict) -> list[tuple]:
    return [(e["sheet"], e["row"], e["column"], e["code"], e["detail"]) for e in report["errors"]]


def test_dry_run_reports_every_outcome_and_changes_nothing():
    """The test workbook's dry run gives the documented counts, changes and cell errors; nothing changes."""
    # given
    workbooks.stored_rows()
    before = _snapshot()
    # when
    report = _run(workbooks.test_workbook(), dry_run=True)
    # then
    assert report["counts"] == EXPECTED_COUNTS
    assert _errors(report) == EXPECTED_ERRORS
    assert _changes(report) == EXPECTED_CHANGES
    error_rows = [(row["sheet"], row["row"]) for row in report["rows"] if row["action"] == "error"]
    assert error_rows == [(sheet, row) for sheet, row, *_ in EXPECTED_ERRORS]
    assert (report["status"], report["applied"], report["dry_run"]) == ("error", False, True)
    assert report["ignored_sheets"] == ["test.xlsx: Notes"]
    assert _snapshot() == before
    assert ImportRun.objects.get(pk=report["id"]).state == ImportRun.State.CHECKED


def test_a_real_run_with_errors_writes_nothing_and_reports_the_same():
    """All or nothing: one row in error and no row is written; the report is the dry run's."""
    workbooks.stored_rows()
    before = _snapshot()
    dry = _run(workbooks.test_workbook(), dry_run=True)
    real = _run(workbooks.test_workbook())
    assert _snapshot() == before
    assert (real["counts"], real["rows"], real["errors"]) == (dry["counts"], dry["rows"], dry["errors"])
    assert (real["applied"], ImportRun.objects.get(pk=real["id"]).state) == (False, ImportRun.State.FAILED)


def test_partial_run_applies_exactly_the_reported_changes():
    """partial writes the valid rows: the tables change by the dry run's changes and nothing else."""
    # given
    workbooks.stored_rows()
    before = _snapshot()
    dry = _run(workbooks.test_workbook(), dry_run=True, partial=True)
    # when
    real = _run(workbooks.test_workbook(), partial=True)
    # then: the same report, with the new opportunity's generated oid
    new_oid = next(
        row["key"]["oid"] for row in _changes(real) if row["sheet"] == OPPS and row["action"] == "created"
    )
    assert len(new_oid) == 32
    expected_rows = [
        {**row, "key": {"oid": new_oid}} if row.get("key") == {"oid": None} else row for row in dry["rows"]
    ]
    assert (real["counts"], real["rows"], real["errors"]) == (dry["counts"], expected_rows, dry["errors"])
    assert real["applied"] is True
    # and the database is the old one with those changes
    after = _snapshot()
    assert {table: len(rows) - len(before[table]) for table, rows in after.items()} == {
        "customer": 1, "crm_opportunities": 1, "revenue_actuals": 1, "revenue_targets": 1,
    }  # fmt: skip
    assert Customer.objects.filter(cid=5002).values("customer_name", "area", "is_active").get() == {
        "customer_name": "Nordsee GmbH", "area": "Germany", "is_active": True,
    }  # fmt: skip
    assert Customer.objects.get(cid=5006).customer_name == "New Name AG"
    assert Customer.objects.filter(cid__in=[5003, 5004, 5005]).count() == 0
    stored = Opportunity.objects.get(oid=OID)
    assert (stored.status, stored.probability, stored.forecast_category) == ("Negotiation", 75, "Commit")
    created = Opportunity.objects.get(oid=new_oid)
    assert (created.customer_id, created.est_monthly_revenue, created.probability) == (
        5002,
        Decimal("2500.50"),
        10,
    )
    assert RevenueActual.objects.get(area="France", month="2024-08-01").revenue == Decimal("95000.50")
    assert RevenueTarget.objects.get(area="France", fiscal_year=2025).target == Decimal("1300000.00")
    assert RevenueTarget.objects.get(area="UK", fiscal_year=2026).target == Decimal("500000.00")


def test_the_export_imports_back_as_unchanged():
    """Export -> import: every row of every table is unchanged, and a real run writes nothing."""
    workbooks.stored_rows()
    _run(workbooks.test_workbook(), partial=True)
    buffer = io.BytesIO()
    counts = workbook_export(buffer)
    before = _snapshot()
    report = _run(buffer.getvalue(), name="export.xlsx")
    assert report["counts"] == {
        table: {"created": 0, "updated": 0, "unchanged": n, "error": 0} for table, n in counts.items()
    }
    assert counts == {"customer": 3, "crm_opportunities": 2, "revenue_actuals": 2, "revenue_targets": 2}
    assert (report["status"], report["rows"], report["errors"]) == ("ok", [], [])
    assert _snapshot() == before


def test_a_clean_workbook_is_applied_whole():
    """No row in error: a real run writes every row; running it again reports them unchanged."""
    content = workbooks.simple_workbook(
        {
            "customer": [
                ["cid", "customer_name", "area"],
                [7001, "Alpha SA", "France"],
                [7002, "Beta AG", "Germany"],
            ],
            "revenue_targets": [["area", "fiscal_year", "target"], ["France", 2027, 10]],
        }
    )
    first = _run(content)
    assert (first["status"], first["applied"]) == ("ok", True)
    assert list(Customer.objects.filter(cid__gte=7001).values_list("cid", "customer_name", "is_active")) == [
        (7001, "Alpha SA", True),
        (7002, "Beta AG", True),
    ]
    second = _run(content)
    assert second["counts"]["customer"] == {"created": 0, "updated": 0, "unchanged": 2, "error": 0}
    assert second["counts"]["revenue_targets"] == {"created": 0, "updated": 0, "unchanged": 1, "error": 0}
    assert (second["applied"], second["rows"]) == (False, [])


def test_writes_carry_the_import_source_and_id():
    """Every write of a real run is recorded in the history with source import and the run's id,
    and the write context ends with the import."""
    report = _run(
        workbooks.simple_workbook({"customer": [["cid", "customer_name", "area"], [7101, "Gamma", "UK"]]})
    )
    entries = Change.objects.values_list("entity", "key", "action", "source", "import_id")
    assert list(entries) == [("customer", "7101", "created", "import", str(report["id"]))]
    assert write_context_current() is None


def test_the_record_keeps_a_bounded_report(monkeypatch):
    """The answer has every row; the ImportRun record keeps the first rows and errors and their totals."""
    from crm.imports import runs

    monkeypatch.setattr(runs, "STORED_REPORT_ENTRIES", 1)
    workbooks.stored_rows()
    report = _run(workbooks.test_workbook(), dry_run=True)
    stored = ImportRun.objects.get(pk=report["id"]).report
    assert (len(report["rows"]), len(report["errors"])) == (len(EXPECTED_CHANGES) + 15, 15)
    assert (stored["rows"], stored["errors"]) == (report["rows"][:1], report["errors"][:1])
    assert (stored["rows_total"], stored["errors_total"], stored["counts"]) == (22, 15, report["counts"])

"""The import's bulk writes: the same report, tables and history as the row services, in a number
of queries that grows with the chunks, not the rows."""

import io

import pytest
from django.db import IntegrityError, transaction

from crm.imports import engine
from crm.imports.runs import import_run
from crm.models import Change, Customer, Opportunity, RevenueActual, RevenueTarget
from crm.tests.imports import workbooks

pytestmark = pytest.mark.django_db

MODELS = (Customer, Opportunity, RevenueActual, RevenueTarget)
HISTORY = ("entity", "key", "cid", "area", "action", "changes", "actor", "source", "request_id", "import_id")

# Every table, created and updated rows, all in one chunk; no row in error.
MIXED = {
    "customer": [
        ["cid", "customer_name", "area", "is_active"],
        [5001, "Rhône Logistics", "Germany", 1],  # updated: the area
        [5002, "Nordsee GmbH", "Germany", "yes"],  # created
        [5006, "New Name AG", "Switzerland", None],  # updated: the name
    ],
    "crm_opportunities": [
        ["oid", "cid", "opportunity_name", "product", "status", "est_monthly_revenue", "expected_close_date"],
        [workbooks.OID, 5002, "Payroll roll-out", "Payroll", "Negotiation", 1500, "2025-03-31"],  # updated
        [None, 5002, "Time entry pilot", "Time Entry", "Prospecting", "2500,5", "2025-06-30"],  # created
        [None, 5001, "Expenses", "Expenses", "Closed Won", 99, "2025-01-31"],  # created
    ],
    "revenue_actuals": [["area", "month", "revenue"], ["France", "2024-07-01", 1], ["UK", "2024-08-01", 2]],
    "revenue_targets": [["area", "fiscal_year", "target"], ["France", 2025, 3], ["UK", 2026, 4]],
}


def _run(content: bytes, **options) -> dict:
    return import_run(files=[("test.xlsx", io.BytesIO(content))], **options).report


def _refuse_bulk(handler, plans):
    raise IntegrityError("refused, as when another writer inserted one of the rows meanwhile")


def _row_key(entry: dict, rename) -> str:
    """An entry's row: a revenue row by its unique key (MySQL does not reuse rolled-back ids)."""
    model = {"revenue_actual": RevenueActual, "revenue_target": RevenueTarget}.get(entry["entity"])
    if model is None:
        return rename(entry["key"])
    row = model.objects.get(pk=entry["key"])
    return f"{row.area} {getattr(row, 'month', None) or row.fiscal_year}"


def _outcome(content: bytes, *, partial: bool) -> tuple[dict, dict, list]:
    """The report, the four tables and the history entries of a real run (new oids as NEW-n)."""
    report = _run(content, dry_run=False, partial=partial)
    new_oids = {
        row["key"]["oid"]: f"NEW-{n}"
        for n, row in enumerate(r for r in report["rows"] if r["action"] == "created" and "oid" in r["key"])
    }
    rename = lambda value: new_oids.get(value, value)  # noqa: E731
    rows = [
        {**row, "key": {k: rename(v) for k, v in row["key"].items()}} if "key" in row else row
        for row in report["rows"]
    ]
    skip = {"id", "created_at", "updated_at"}
    tables = {
        model._meta.db_table: sorted(
            (
                tuple(sorted((k, rename(v)) for k, v in row.items() if k not in skip))
                for row in model.objects.values()
            ),
            key=repr,
        )
        for model in MODELS
    }
    history = [
        {**entry, "key": _row_key(entry, rename), "import_id": entry["import_id"] == str(report["id"])}
        for entry in Change.objects.order_by("id").values(*HISTORY)
    ]
    return {**report, "id": None, "rows": rows}, tables, history


@pytest.mark.parametrize(
    ("content", "partial"),
    [(workbooks.simple_workbook(MIXED), False), (workbooks.test_workbook(), True)],
    ids=["mixed workbook", "test workbook, partial"],
)
def test_bulk_writes_give_the_row_services_report_tables_and_history(content, partial, monkeypatch):
    """A real run in bulk and the same run through the row services (the path taken when the
    database refuses a chunk in bulk) give the same report, the same rows and the same history
    entries (source import, the run's id), in the same order."""
    # given
    workbooks.stored_rows()
    with transaction.atomic():
        bulk = _outcome(content, partial=partial)
        transaction.set_rollback(True)
    monkeypatch.setattr(engine, "_store", _refuse_bulk)
    # when
    by_row = _outcome(content, partial=partial)
    # then
    assert bulk == by_row
    report, _, history = bulk
    assert report["applied"] is True
    written = sum(counts["created"] + counts["updated"] for counts in report["counts"].values())
    assert len(history) == written and written >= 7
    assert {(entry["source"], entry["import_id"]) for entry in history} == {("import", True)}


def test_a_row_written_meanwhile_by_another_writer_is_a_row_error(monkeypatch):
    """A customer the chunk's read did not see (inserted meanwhile) makes the bulk INSERT fail;
    the chunk is written row by row, and that row alone is an error naming the customer."""
    # given: the read of stored customers misses 5001, as if it had been inserted after it
    workbooks.stored_rows()
    prefetch = engine._Customers.prefetch

    def stale_prefetch(self, rows, *, lock):
        prefetch(self, rows, lock=lock)
        self.stored.pop(5001, None)

    monkeypatch.setattr(engine._Customers, "prefetch", stale_prefetch)
    content = workbooks.simple_workbook(
        {"customer": [["cid", "customer_name", "area"], [5001, "Again", "France"], [7001, "New SA", "UK"]]}
    )
    # when
    report = _run(content, dry_run=False, partial=True)
    # then
    assert report["counts"]["customer"] == {"created": 1, "updated": 0, "unchanged": 0, "error": 1}
    assert report["errors"] == [
        {
            "sheet": "customer",
            "row": 2,
            "column": "cid",
            "code": "unique",
            "detail": "Customer 5001 already exists.",
        }
    ]
    assert Customer.objects.get(cid=5001).customer_name == "Rhône Logistics"
    assert Customer.objects.get(cid=7001).customer_name == "New SA"


def _customers_sheet(rows: int) -> bytes:
    """``rows`` customers: every tenth renames a stored customer, the others are new."""
    Customer.objects.bulk_create(
        Customer(cid=100_000 + i, customer_name=f"Old {i}", area="UK") for i in range(0, rows, 10)
    )
    lines = [[100_000 + i, f"Old {i}" if i % 10 else f"Renamed {i}", "UK"] for i in range(rows)]
    return workbooks.simple_workbook({"customer": [["cid", "customer_name", "area"], *lines]})


# Outside the chunks: the ImportRun's INSERT and its final UPDATE, the transaction's savepoint.
FIXED_QUERIES = 4
# Per chunk: the stored customers (one SELECT ... FOR UPDATE), the savepoints of the bulk write
# and of rows_write (2 + 2), the INSERT of new customers, the UPDATE of renamed ones, the
# INSERT of the history entries.
CHUNK_QUERIES = 8


@pytest.mark.parametrize("rows", [10, 3000])
def test_queries_grow_with_the_chunks_not_the_rows(rows, django_assert_num_queries, monkeypatch):
    """10 rows are one chunk, 3000 rows three: the same queries per chunk, none per row; the
    report cache is invalidated once for the whole import."""
    # given
    content = _customers_sheet(rows)
    invalidations = []
    monkeypatch.setattr(engine, "report_cache_invalidate", lambda: invalidations.append(1))
    chunks = -(-rows // engine.CHUNK_ROWS)
    # when
    with django_assert_num_queries(FIXED_QUERIES + CHUNK_QUERIES * chunks):
        report = _run(content, dry_run=False, partial=False)
    # then
    assert report["counts"]["customer"] == {
        "created": rows - rows // 10, "updated": rows // 10, "unchanged": 0, "error": 0,
    }  # fmt: skip
    assert Change.objects.filter(import_id=str(report["id"])).count() == rows
    assert Customer.objects.filter(customer_name__startswith="Renamed").count() == rows // 10
    assert invalidations == [1]

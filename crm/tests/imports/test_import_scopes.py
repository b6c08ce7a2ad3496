"""Imports within the caller's areas: a France-only editor's UK rows are row errors, answered as a
missing customer or deal (or an area not in the vocabulary), and nothing is written; manage.py
imports every area."""

import datetime
import io
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from crm.imports.models import ImportRun
from crm.models import Change, Customer, Opportunity, RevenueActual, RevenueTarget
from crm.scopes import AreaScope
from crm.services import EDITORS_GROUP, api_user_ensure
from crm.tests.factories import CustomerFactory, OpportunityFactory, RevenueActualFactory
from crm.tests.imports import workbooks

pytestmark = pytest.mark.django_db

UK_OID = "e" * 32
FR_OID = "a" * 32
OPPORTUNITY_HEADER = [
    "oid",
    "cid",
    "opportunity_name",
    "product",
    "status",
    "est_monthly_revenue",
    "expected_close_date",
]


@pytest.fixture
def stored():
    paris = CustomerFactory(cid=9001, customer_name="Atelier Paris", area="France")
    london = CustomerFactory(cid=9005, customer_name="London Works", area="UK")
    OpportunityFactory(oid=FR_OID, customer=paris, opportunity_name="Paris deal")
    OpportunityFactory(oid=UK_OID, customer=london, opportunity_name="London deal")
    RevenueActualFactory(area="UK", month=datetime.date(2025, 1, 1), revenue=Decimal("20.00"))


def _france_editor(api_client):
    _, token = api_user_ensure(username="fr-editor", group=EDITORS_GROUP, areas=AreaScope.of(["France"]))
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api_client


def _snapshot() -> dict:
    return {
        model._meta.db_table: list(model.objects.order_by("pk").values())
        for model in (Customer, Opportunity, RevenueActual, RevenueTarget, Change)
    }


def _import(client, content: bytes, **fields) -> dict:
    response = client.post(
        reverse("api:imports"),
        {"file": SimpleUploadedFile("book.xlsx", content), **fields},
        format="multipart",
    )
    assert response.status_code == HTTPStatus.OK
    return response.json()


def _deal(oid, cid, name="Imported deal"):
    return [oid, cid, name, "Payroll", "Prospecting", 100, datetime.date(2025, 5, 31)]


BOOK = workbooks.simple_workbook(
    {
        "customer": [
            ["cid", "customer_name", "area"],
            [9005, "London Works renamed", "UK"],  # stored in UK
            [9100, "Dover Ferries", "UK"],  # new, in UK
            [9001, "Atelier Paris", "UK"],  # a French customer moved to UK
        ],
        "crm_opportunities": [
            OPPORTUNITY_HEADER,
            _deal("", 9005),  # a new deal for the UK customer
            _deal("", 424242),  # a new deal for a customer that does not exist
            _deal(UK_OID, 9005, "Renamed"),  # the UK deal
            _deal("f" * 32, 9001, "Renamed"),  # a deal that does not exist
            _deal(FR_OID, 9005),  # the French deal moved to the UK customer
        ],
        "revenue_actuals": [["area", "month", "revenue"], ["UK", datetime.date(2025, 1, 1), 25]],
        "revenue_targets": [["area", "fiscal_year", "target"], ["UK", 2026, 25]],
    }
)


@pytest.mark.parametrize("dry_run", ["true", "false"])
def test_a_france_only_editors_uk_rows_are_row_errors_and_change_nothing(stored, api_client, dry_run):
    """Every UK row is an error; a UK customer or deal reads as one that does not exist."""
    client = _france_editor(api_client)
    before = _snapshot()

    report = _import(client, BOOK, dry_run=dry_run, partial="true")

    assert report["errors"] == [
        {
            "sheet": "customer",
            "row": 2,
            "column": "cid",
            "code": "unique",
            "detail": "Customer 9005 already exists.",
        },
        {
            "sheet": "customer",
            "row": 3,
            "column": "area",
            "code": "invalid_choice",
            "detail": "Must be one of: France.",
        },
        {
            "sheet": "customer",
            "row": 4,
            "column": "area",
            "code": "invalid_choice",
            "detail": "Must be one of: France.",
        },
        {
            "sheet": "crm_opportunities",
            "row": 2,
            "column": "cid",
            "code": "does_not_exist",
            "detail": "Customer 9005 does not exist.",
        },
        {
            "sheet": "crm_opportunities",
            "row": 3,
            "column": "cid",
            "code": "does_not_exist",
            "detail": "Customer 424242 does not exist.",
        },
        {
            "sheet": "crm_opportunities",
            "row": 4,
            "column": "oid",
            "code": "does_not_exist",
            "detail": f"Opportunity {UK_OID} does not exist; leave oid empty to create a new opportunity.",
        },
        {
            "sheet": "crm_opportunities",
            "row": 5,
            "column": "oid",
            "code": "does_not_exist",
            "detail": f"Opportunity {'f' * 32} does not exist; leave oid empty to create a new opportunity.",
        },
        {
            "sheet": "crm_opportunities",
            "row": 6,
            "column": "cid",
            "code": "does_not_exist",
            "detail": "Customer 9005 does not exist.",
        },
        {
            "sheet": "revenue_actuals",
            "row": 2,
            "column": "area",
            "code": "invalid_choice",
            "detail": "Must be one of: France.",
        },
        {
            "sheet": "revenue_targets",
            "row": 2,
            "column": "area",
            "code": "invalid_choice",
            "detail": "Must be one of: France.",
        },
    ]
    assert report["counts"] == {
        "customer": {"created": 0, "updated": 0, "unchanged": 0, "error": 3},
        "crm_opportunities": {"created": 0, "updated": 0, "unchanged": 0, "error": 5},
        "revenue_actuals": {"created": 0, "updated": 0, "unchanged": 0, "error": 1},
        "revenue_targets": {"created": 0, "updated": 0, "unchanged": 0, "error": 1},
    }
    assert report["applied"] is False
    assert _snapshot() == before


def test_a_france_only_editor_imports_france_rows(stored, api_client):
    """Within the scope the import writes as before, also a deal for a customer made earlier in the file."""
    client = _france_editor(api_client)
    content = workbooks.simple_workbook(
        {
            "customer": [["cid", "customer_name", "area"], [9200, "Lille Mills", "France"]],
            "crm_opportunities": [OPPORTUNITY_HEADER, _deal("", 9200), _deal(FR_OID, 9001, "Paris renamed")],
        }
    )

    report = _import(client, content)

    assert (report["status"], report["applied"]) == ("ok", True)
    assert Opportunity.objects.filter(customer_id=9200).count() == 1
    assert Opportunity.objects.get(oid=FR_OID).opportunity_name == "Paris renamed"


def test_the_admin_import_of_a_france_only_editor_is_scoped_alike(stored):
    """The admin's upload reports the same row errors for UK rows, and its confirmation writes nothing."""
    user, _ = api_user_ensure(username="fr-staff", group=EDITORS_GROUP, areas=AreaScope.of(["France"]))
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    before = _snapshot()

    client.post(
        reverse("admin:crm_importrun_import"), {"file": SimpleUploadedFile("b.xlsx", BOOK), "partial": "on"}
    )
    checked = ImportRun.objects.get()
    client.post(reverse("admin:crm_importrun_confirm", args=[checked.pk]))

    assert [(e["sheet"], e["row"], e["code"]) for e in checked.report["errors"]] == [
        ("customer", 2, "unique"),
        ("customer", 3, "invalid_choice"),
        ("customer", 4, "invalid_choice"),
        ("crm_opportunities", 2, "does_not_exist"),
        ("crm_opportunities", 3, "does_not_exist"),
        ("crm_opportunities", 4, "does_not_exist"),
        ("crm_opportunities", 5, "does_not_exist"),
        ("crm_opportunities", 6, "does_not_exist"),
        ("revenue_actuals", 2, "invalid_choice"),
        ("revenue_targets", 2, "invalid_choice"),
    ]
    assert (
        ImportRun.objects.exclude(pk=checked.pk).get().state == ImportRun.State.APPLIED
    )  # partial: no valid row
    assert _snapshot() == before


def test_manage_py_imports_every_area(stored, tmp_path):
    """import_workbook runs with every area: the UK rows are written."""
    path = tmp_path / "uk.xlsx"
    content = workbooks.simple_workbook(
        {
            "customer": [["cid", "customer_name", "area"], [9005, "London Works renamed", "UK"]],
            "revenue_targets": [["area", "fiscal_year", "target"], ["UK", 2026, 25]],
        }
    )
    path.write_bytes(content)

    call_command("import_workbook", str(path), stdout=io.StringIO())

    assert Customer.objects.get(cid=9005).customer_name == "London Works renamed"
    assert RevenueTarget.objects.get(area="UK", fiscal_year=2026).target == Decimal("25.00")

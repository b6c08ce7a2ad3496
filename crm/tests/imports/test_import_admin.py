"""The admin's "Import workbook": upload, the dry run's report, confirm; and the export."""

import io
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from crm.imports.layout import TABLES
from crm.imports.models import ImportRun
from crm.models import Customer
from crm.scopes import AreaScope
from crm.services import EDITORS_GROUP, READERS_GROUP, api_user_ensure
from crm.tests.imports import workbooks

pytestmark = pytest.mark.django_db

BOOK = workbooks.simple_workbook(
    {"customer": [["cid", "customer_name", "area"], [8101, "Foxtrot SA", "France"], [8102, "Bad", "Mars"]]}
)


@pytest.fixture
def editor_client(client):
    user, _ = api_user_ensure(username="ops", group=EDITORS_GROUP, areas=AreaScope.ALL)
    user.is_staff = True
    user.save()
    client.force_login(user)
    return client


def test_upload_shows_the_dry_run_and_confirm_applies_it(editor_client):
    """Upload checks without writing; the report page shows counts and errors; Apply writes the valid rows."""
    # given: the upload form
    assert editor_client.get(reverse("admin:crm_importrun_import")).status_code == HTTPStatus.OK
    # when: a workbook with one good and one bad row is uploaded, partial
    response = editor_client.post(
        reverse("admin:crm_importrun_import"), {"file": SimpleUploadedFile("b.xlsx", BOOK), "partial": "on"}
    )
    # then: a dry run, nothing written, its report shown
    checked = ImportRun.objects.get()
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("admin:crm_importrun_confirm", args=[checked.pk])
    assert (checked.state, checked.dry_run) == (ImportRun.State.CHECKED, True)
    assert not Customer.objects.filter(cid__in=[8101, 8102]).exists()
    page = " ".join(editor_client.get(response["Location"]).content.decode().split())
    assert "Dry run (partial) of <strong>b.xlsx</strong>" in page
    assert "<td>customer</td><td>1</td><td>0</td><td>0</td><td>1</td>" in page
    assert "Must be one of: France, Germany, Switzerland, Netherlands, UK." in page
    assert 'id="confirm-form"' in page
    # when: confirmed
    response = editor_client.post(reverse("admin:crm_importrun_confirm", args=[checked.pk]))
    # then: the valid row is written, by a new run over the same file; the dry run cannot be applied twice
    applied = ImportRun.objects.exclude(pk=checked.pk).get()
    assert (applied.state, applied.file_sha256) == (ImportRun.State.APPLIED, checked.file_sha256)
    assert response["Location"] == reverse("admin:crm_importrun_confirm", args=[applied.pk])
    assert list(Customer.objects.filter(cid__in=[8101, 8102]).values_list("cid", flat=True)) == [8101]
    checked.refresh_from_db()
    assert checked.content is None
    editor_client.post(reverse("admin:crm_importrun_confirm", args=[checked.pk]))
    assert ImportRun.objects.count() == 2


def test_a_hostile_file_is_refused_on_the_form(editor_client):
    """A file that is not a workbook is an error beside the field, naming the file."""
    response = editor_client.post(
        reverse("admin:crm_importrun_import"), {"file": SimpleUploadedFile("x.xlsx", workbooks.renamed_pdf())}
    )
    assert response.status_code == HTTPStatus.OK
    assert "x.xlsx: is neither an XLSX workbook" in response.content.decode()


def test_the_export_downloads_the_four_tables(editor_client):
    """Export workbook: one sheet per table, headed by the table's columns."""
    workbooks.stored_rows()
    response = editor_client.get(reverse("admin:crm_importrun_export"))
    assert response.status_code == HTTPStatus.OK
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    assert book.sheetnames == ["Customer", "CRM Opportunities", "Revenue Actuals", "Revenue Targets"]
    assert [c.value for c in next(book["Revenue Targets"].iter_rows(max_row=1))] == [
        "id",
        "area",
        "fiscal_year",
        "target",
    ]


def test_an_export_of_more_rows_than_a_workbook_from_the_admin_holds_is_refused(editor_client, monkeypatch):
    """With a limit of 3 rows, the four tables' rows are more: the import page again with a
    message naming the count, the limit and manage.py export_workbook, and no file."""
    workbooks.stored_rows()
    monkeypatch.setattr("crm.imports.admin.ADMIN_MAX_ROWS", 3)
    stored = sum(table.model.objects.count() for table in TABLES)

    response = editor_client.get(reverse("admin:crm_importrun_export"), follow=True)

    assert response.redirect_chain == [(reverse("admin:crm_importrun_changelist"), HTTPStatus.FOUND)]
    assert [str(m) for m in response.context["messages"]] == [
        f"Not exported: the four tables hold {stored} rows, and a workbook from this page holds at most 3. "
        "Export everything with manage.py export_workbook."
    ]


def test_a_reader_cannot_import(client):
    """Without crm.import_data the import page is 403."""
    user, _ = api_user_ensure(username="viewer", group=READERS_GROUP, areas=AreaScope.ALL)
    user.is_staff = True
    user.save()
    client.force_login(user)
    assert client.get(reverse("admin:crm_importrun_import")).status_code == HTTPStatus.FORBIDDEN

"""POST /api/imports: permission, the report, a 400 naming each hostile file, 413 over the limit."""

import io
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from crm.models import Customer
from crm.scopes import AreaScope
from crm.services import EDITORS_GROUP, READERS_GROUP, api_user_ensure
from crm.tests.imports import workbooks

pytestmark = pytest.mark.django_db

CLEAN = workbooks.simple_workbook(
    {"customer": [["cid", "customer_name", "area"], [8001, "Delta SA", "France"]]}
)


def _client(api_client, group=EDITORS_GROUP):
    _, token = api_user_ensure(username=f"import-{group}", group=group, areas=AreaScope.ALL)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api_client


def _post(client, content: bytes, name="book.xlsx", **fields):
    return client.post(
        reverse("api:imports"), {"file": SimpleUploadedFile(name, content), **fields}, format="multipart"
    )


def test_an_editor_imports_and_a_reader_may_not(api_client):
    """crm_access's editor role grants crm.import_data; a reader gets 403 and nothing is written."""
    reader = _client(api_client, READERS_GROUP)
    assert _post(reader, CLEAN).status_code == HTTPStatus.FORBIDDEN
    assert not Customer.objects.filter(cid=8001).exists()
    editor = _client(api_client)
    response = _post(editor, CLEAN, dry_run="true")
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["counts"]["customer"] == {"created": 1, "updated": 0, "unchanged": 0, "error": 0}
    assert (body["dry_run"], body["applied"], body["status"], body["files"]) == (
        True,
        False,
        "ok",
        ["book.xlsx"],
    )
    assert not Customer.objects.filter(cid=8001).exists()
    response = _post(editor, CLEAN)
    assert (response.status_code, response.json()["applied"]) == (HTTPStatus.OK, True)
    assert Customer.objects.get(cid=8001).customer_name == "Delta SA"


def test_anonymous_is_401(api_client):
    """No credentials, no import."""
    assert _post(api_client, CLEAN).status_code == HTTPStatus.UNAUTHORIZED


def test_a_csv_with_semicolons_bom_and_decimal_comma(api_client):
    """European Excel's CSV: UTF-8 with BOM, ';' between fields, a decimal comma in money."""
    content = "\ufeffarea;month;revenue\nUK;2024-09-01;1234,50\n".encode()
    response = _post(_client(api_client), content, name="Revenue Actuals.csv")
    assert response.status_code == HTTPStatus.OK
    assert response.json()["rows"] == [
        {
            "sheet": "Revenue Actuals.csv", "row": 2, "action": "created",
            "key": {"area": "UK", "month": "2024-09-01"}, "values": {"revenue": "1234.50"},
        }
    ]  # fmt: skip


def test_header_errors_name_the_column_before_any_row():
    """An unknown column and a missing required one are reported on row 1; no row of the sheet is read."""
    from crm.imports.runs import import_run

    content = workbooks.simple_workbook(
        {"customer": [["cid", "customer_nam", "colour"], [1, "A", "red"]], "Revenue Targets": [["area"]]}
    )
    report = import_run(files=[("h.xlsx", io.BytesIO(content))], dry_run=True, partial=False).report
    expected_columns = (
        "cid, customer_name, area, account_executive, technical_specialist, industry, contract_type, "
        "contract_start_date, contract_end_date, is_active, is_key_account"
    )
    assert report["errors"] == [
        {
            "sheet": "customer", "row": 1, "column": "customer_nam", "code": "unknown_column",
            "detail": f"Column 'customer_nam' (cell B1) is not a column of customer; "
            f"expected: {expected_columns}.",
        },
        {
            "sheet": "customer", "row": 1, "column": "colour", "code": "unknown_column",
            "detail": f"Column 'colour' (cell C1) is not a column of customer; expected: {expected_columns}.",
        },
        {"sheet": "customer", "row": 1, "column": "customer_name", "code": "missing_column",
         "detail": "Required column 'customer_name' is missing."},
        {"sheet": "customer", "row": 1, "column": "area", "code": "missing_column",
         "detail": "Required column 'area' is missing."},
        {"sheet": "Revenue Targets", "row": 1, "column": "fiscal_year", "code": "missing_column",
         "detail": "Required column 'fiscal_year' is missing."},
        {"sheet": "Revenue Targets", "row": 1, "column": "target", "code": "missing_column",
         "detail": "Required column 'target' is missing."},
    ]  # fmt: skip
    assert report["rows"] == []


HOSTILE = [
    ("renamed.xlsx", workbooks.renamed_pdf, "is neither an XLSX workbook"),
    ("truncated.xlsx", workbooks.truncated_zip, "the ZIP archive is damaged or truncated"),
    ("bomb.xlsx", workbooks.zip_bomb, "(a ZIP bomb)"),
    ("dimension.xlsx", workbooks.billion_row_dimension, "declares 1000000000 rows"),
    ("far-row.xlsx", workbooks.row_past_excel, "has a row 1000000000, past Excel's last row"),
    ("entities.xlsx", workbooks.xml_entities, "contains XML entity or DTD declarations, which are refused"),
    ("customer.csv", lambda: b"cid,customer_name\n\xff\xfe\x00\x01", "is not UTF-8 text"),
    ("notes.csv", lambda: b"a,b\n1,2\n", "names no CRM table"),
]


@pytest.mark.parametrize(
    ("name", "make", "reason"), HOSTILE, ids=[h[0] + str(i) for i, h in enumerate(HOSTILE)]
)
def test_a_hostile_file_is_a_400_naming_it(api_client, name, make, reason):
    """A file that is not what it claims is refused with 400, the file named; nothing is written."""
    before = Customer.objects.count()
    response = _post(_client(api_client), make(), name=name)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    (error,) = response.json()["errors"]
    assert (error["attr"], error["code"]) == ("file", "invalid")
    assert error["detail"].startswith(f"{name}: ") and reason in error["detail"], error["detail"]
    assert Customer.objects.count() == before


@override_settings(IMPORT_MAX_FILE_SIZE=1000)
def test_a_file_over_the_limit_is_413(api_client):
    """Over IMPORT_MAX_FILE_SIZE: 413 in the error shape, before anything is read."""
    response = _post(_client(api_client), b"x" * 1001, name="customer.csv")
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json()["errors"][0]["code"] == "request_too_large"
    big = _post(_client(api_client), b"x" * 200_000, name="customer.csv")  # refused by the body limit
    assert big.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE


def test_the_endpoint_is_in_the_openapi_schema(api_client):
    """POST /api/imports is documented with its multipart body and the report."""
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    operation = response.json()["paths"]["/api/imports"]["post"]
    body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    assert body.endswith("/ImportUploadRequest")
    assert {"200", "400", "401", "403", "413"} <= set(operation["responses"])


def test_manage_py_import_workbook_exits_2_on_errors_and_0_when_clean(tmp_path, capsys):
    """The command's exit code says whether any row is in error; --json prints the report."""
    bad = tmp_path / "customer.csv"
    bad.write_text("cid,customer_name,area\n9001,Echo,Mars\n")
    with pytest.raises(SystemExit) as exit_:
        call_command("import_workbook", str(bad), "--dry-run")
    assert exit_.value.code == 2
    assert "ERROR customer.csv row 2 area [invalid_choice]" in capsys.readouterr().out
    good = tmp_path / "book.xlsx"
    good.write_bytes(CLEAN)
    call_command("import_workbook", str(good), "--json")
    assert '"applied": true' in capsys.readouterr().out
    assert Customer.objects.filter(cid=8001).exists()
    exported = tmp_path / "out.xlsx"
    call_command("export_workbook", str(exported))
    call_command("import_workbook", str(exported), "--dry-run")
    assert (
        "customer           created      0  updated      0  unchanged      1  error      0"
        in capsys.readouterr().out
    )

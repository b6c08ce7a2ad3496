"""Test workbooks: built with openpyxl as Excel would save them, and hostile variants."""

import datetime
import io
import re
import zipfile
from decimal import Decimal

from openpyxl import Workbook

from crm.choices import Area, Product, Status
from crm.tests.factories import (
    CustomerFactory,
    OpportunityFactory,
    RevenueActualFactory,
    RevenueTargetFactory,
)

OID = "0123456789abcdef0123456789abcdef"
UNKNOWN_OID = "fedcba9876543210fedcba9876543210"


def stored_rows():
    """What the database holds before the test workbook is imported."""
    customer = CustomerFactory(
        cid=5001,
        customer_name="Rhône Logistics",
        area=Area.FRANCE,
        is_active=True,
        contract_start_date=datetime.date(2024, 1, 1),
        contract_end_date=datetime.date(2026, 12, 31),
    )
    CustomerFactory(
        cid=5006,
        customer_name="Old Name AG",
        area=Area.SWITZERLAND,
        contract_start_date=None,
        contract_end_date=None,
    )
    OpportunityFactory(
        oid=OID,
        customer=customer,
        opportunity_name="Payroll roll-out",
        product=Product.PAYROLL,
        status=Status.PROPOSAL,
        est_monthly_revenue=Decimal("1500.00"),
        probability=50,
        forecast_category="Best Case",
        expected_close_date=datetime.date(2025, 3, 31),
    )
    RevenueActualFactory(area=Area.FRANCE, month=datetime.date(2024, 7, 1), revenue=Decimal("100000.00"))
    RevenueTargetFactory(area=Area.FRANCE, fiscal_year=2025, target=Decimal("1200000.00"))


def _sheet(workbook, title, rows):
    sheet = workbook.create_sheet(title)
    for row in rows:
        sheet.append(row)
    return sheet


def test_workbook() -> bytes:
    """Good rows, bad rows and every kind of row error, across the four sheets."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    d = datetime.date
    _sheet(
        workbook,
        " Customer ",
        [
            ["cid", "customer_name", "area", "is_active", "contract_start_date", "contract_end_date"],
            [5001, "Rhône Logistics", "France", 1, d(2024, 1, 1), d(2026, 12, 31)],  # unchanged
            [5002, "Nordsee GmbH", "Germany", "yes", None, None],  # created
            [5001, "Rhône Logistics", "France", 1, None, None],  # duplicate
            [5003, "Bad Area SL", "Spain", 1, None, None],  # invalid_choice
            [5004, "Maybe BV", "Netherlands", "maybe", None, None],  # invalid (cell)
            [5005, "Dates Ltd", "UK", 0, d(2025, 1, 1), d(2024, 1, 1)],  # end_before_start
            [5006, "New Name AG", "Switzerland", None, None, None],  # updated (is_active not given)
            [None, None, None, None, None, None],  # blank: skipped
        ],
    )
    opportunities = _sheet(
        workbook,
        "CRM Opportunities",
        [
            [
                "oid",
                "cid",
                "opportunity_name",
                "product",
                "status",
                "est_monthly_revenue",
                "probability",
                "forecast_category",
                "expected_close_date",
            ],
            [OID, 5001, "Payroll roll-out", "Payroll", "Negotiation", 1500, None, None, d(2025, 3, 31)],
            [
                None,
                5002,
                "Time entry pilot",
                "Time Entry",
                "Prospecting",
                "2500,50",
                None,
                None,
                "2025-06-30",
            ],
            [None, 999999, "Ghost deal", "Payroll", "Proposal", 100, None, None, d(2025, 1, 31)],
            [None, 5003, "Deal of a bad row", "Payroll", "Proposal", 100, None, None, d(2025, 1, 31)],
            [None, 5001, "Won at sixty", "Expenses", "Closed Won", 100, 60, None, d(2025, 1, 31)],
            [None, 5001, "Formula deal", "Expenses", "Proposal", None, None, None, d(2025, 1, 31)],
            [UNKNOWN_OID, 5001, "Lost oid", "Expenses", "Proposal", 100, None, None, d(2025, 1, 31)],
            [None, 5001, "Slash date", "Expenses", "Proposal", 100, None, None, "31/03/2025"],
            [None, 5001, "Error cell", "Expenses", "Proposal", None, None, None, d(2025, 1, 31)],
            [None, 5001, "Coffee deal", "Coffee", "Proposal", 100, None, None, d(2025, 1, 31)],
        ],
    )
    opportunities["F7"] = "=B7*2"  # a formula with no saved value (openpyxl saves none)
    _sheet(
        workbook,
        "revenue_actuals",
        [
            ["area", "month", "revenue"],
            ["France", d(2024, 7, 1), 100000],  # unchanged
            ["France", d(2024, 8, 1), "95000,50"],  # created (decimal comma)
            ["France", d(2024, 8, 15), 1],  # not_first_of_month
            ["Germany", d(2024, 7, 1), -5],  # min_value
        ],
    )
    _sheet(
        workbook,
        "Revenue Targets",
        [
            ["area", "fiscal_year", "target"],
            ["France", 2025, 1300000],  # updated
            ["UK", 2026, 500000],  # created
            ["UK", 2026, 500000],  # duplicate
        ],
    )
    _sheet(workbook, "Notes", [["anything", "else"]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _with_error_cell(buffer.getvalue(), "CRM Opportunities", "F10", "#DIV/0!")


def _rewrite(content: bytes, change) -> bytes:
    """The archive with each member passed through change(name, data)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, change(info.filename, source.read(info.filename)))
    return out.getvalue()


def _sheet_path(content: bytes, title: str) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        workbook = archive.read("xl/workbook.xml").decode()
        index = re.findall(r'<sheet [^>]*name="([^"]+)"', workbook).index(title) + 1
    return f"xl/worksheets/sheet{index}.xml"


def _with_error_cell(content: bytes, title: str, reference: str, error: str) -> bytes:
    path = _sheet_path(content, title)

    def change(name, data):
        if name != path:
            return data
        cell = f'<c r="{reference}" t="e"><v>{error}</v></c>'
        # openpyxl wrote no cell for the empty F10; put the error cell in its row, in order.
        row = reference[1:]
        return re.sub(
            rf'(<row r="{row}"[^>]*>.*?<c r="E{row}"[^>]*>.*?</c>)', rf"\1{cell}", data.decode()
        ).encode()

    return _rewrite(content, change)


def simple_workbook(sheets: dict[str, list[list]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        _sheet(workbook, title, rows)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- Hostile files ---------------------------------------------------------------------------


def renamed_pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def truncated_zip() -> bytes:
    content = simple_workbook({"customer": [["cid", "customer_name", "area"], [1, "A", "France"]]})
    return content[: len(content) // 2]


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (64 * 1024 * 1024))  # 64 MiB -> ~64 KiB
    return out.getvalue()


def _customer_sheet_rewrite(change) -> bytes:
    content = simple_workbook({"customer": [["cid", "customer_name", "area"], [1, "A", "France"]]})
    path = _sheet_path(content, "customer")
    return _rewrite(content, lambda name, data: change(data.decode()).encode() if name == path else data)


def billion_row_dimension() -> bytes:
    return _customer_sheet_rewrite(
        lambda xml: re.sub(r'<dimension ref="[^"]+"', '<dimension ref="A1:C1000000000"', xml)
    )


def row_past_excel() -> bytes:
    return _customer_sheet_rewrite(
        lambda xml: (
            xml.replace('<row r="2"', '<row r="1000000000"')
            .replace('r="A2"', 'r="A1000000000"')
            .replace('r="B2"', 'r="B1000000000"')
            .replace('r="C2"', 'r="C1000000000"')
        )
    )


def xml_entities() -> bytes:
    bomb = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    return _customer_sheet_rewrite(
        lambda xml: bomb + re.sub(r"^<\?xml[^>]*\?>", "", xml).replace(">A<", ">&lol2;<")
    )

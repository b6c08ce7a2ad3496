"""Reading an uploaded workbook safely: XLSX (streamed, values only) or one CSV per table.

Nothing here trusts the file. A file that is not what it claims — not a ZIP, a truncated
archive, a ZIP bomb, a worksheet declaring more rows than Excel allows, XML with entity
declarations — raises FileRejected naming the file, before or while it is read; memory stays
bounded because worksheets are parsed as a stream (openpyxl's read-only parser) and CSV
line by line. Only the shared-strings table of an XLSX is held whole, and its size is
bounded by the archive limits below.
"""

import csv
import io
import itertools
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from django.conf import settings
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._reader import (
    DATA_TAG,
    DIMENSION_TAG,
    FORMULA_TAG,
    INLINE_STRING,
    VALUE_TAG,
    WorkSheetParser,
)
from openpyxl.worksheet.dimensions import SheetDimension
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

from .layout import Table, table_named

# Excel's own limits of a worksheet (Excel specifications and limits).
MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
# An XLSX is a ZIP of XML parts: a real workbook has a few dozen members, compressed at most
# some 10-20 times. Past these a file is a ZIP bomb, whatever its name.
MAX_ARCHIVE_MEMBERS = 1_000
MAX_COMPRESSION_RATIO = 100
MAX_UNCOMPRESSED_FACTOR = 25  # times the upload limit, for all members together
# A CSV header line longer than this is not a header.
MAX_CSV_HEADER_CHARS = 64 * 1024

FORMULA_WITHOUT_VALUE = "formula_without_value"
CELL_ERROR = "e"  # openpyxl's data type of an error value such as #DIV/0!


class FileRejected(Exception):
    """The file cannot be read as a workbook; nothing of it is imported."""

    def __init__(self, file_name: str, reason: str):
        self.file_name = file_name
        self.reason = reason
        super().__init__(f"{file_name}: {reason}")


@dataclass
class Sheet:
    """One table's rows in the file: the header first, then the data rows, streamed."""

    title: str  # as the file names it: the sheet's title, or the CSV file's name
    table: Table
    # (row number as Excel shows it, {column number: (value, data type)}), header included.
    rows: Iterator[tuple[int, dict[int, tuple[object, str]]]]


@dataclass
class Upload:
    name: str
    sheets: list[Sheet] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # sheets that name no CRM table


def cell_reference(row: int, column: int) -> str:
    return f"{get_column_letter(column)}{row}"


def _max_uncompressed() -> int:
    return settings.IMPORT_MAX_FILE_SIZE * MAX_UNCOMPRESSED_FACTOR


def open_upload(name: str, stream) -> Upload:
    """Open a binary ``stream`` holding the file ``name``: XLSX by content, CSV by name."""
    if not name:
        raise FileRejected("(unnamed file)", "the upload has no file name.")
    start = stream.read(4)
    stream.seek(0)
    if start[:2] == b"PK":
        return _open_xlsx(name, stream)
    if name.casefold().endswith(".csv"):
        return _open_csv(name, stream)
    raise FileRejected(
        name,
        "is neither an XLSX workbook (a ZIP archive) nor a .csv file; save it from Excel as .xlsx or CSV.",
    )


# --- XLSX ---------------------------------------------------------------------------------


class _ValuesParser(WorkSheetParser):
    """openpyxl's streaming worksheet parser, reading saved values, that also flags a formula
    cell with no saved value (openpyxl would read it as an empty cell)."""

    def parse_cell(self, element):
        if element.get("t") == "inlineStr":
            self._plain_inline_string(element)
        cell = super().parse_cell(element)
        if cell["value"] is None and element.find(FORMULA_TAG) is not None:
            cell["data_type"] = FORMULA_WITHOUT_VALUE
        return cell

    @staticmethod
    def _plain_inline_string(element) -> None:
        # openpyxl builds a rich-text object for every inline string (as written by openpyxl's
        # own write-only mode and by many exporters), several times slower than the value
        # needs: the text is read here and the cell handed on as a plain string cell.
        child = element.find(INLINE_STRING)
        if child is None:
            return
        runs = child.findall(_TEXT) or child.findall(_RUN_TEXT)
        element.remove(child)
        value = Element(VALUE_TAG)
        value.text = "".join(run.text or "" for run in runs)
        element.append(value)
        element.set("t", "str")


_TEXT = f"{{{SHEET_MAIN_NS}}}t"
_RUN_TEXT = f"{{{SHEET_MAIN_NS}}}r/{{{SHEET_MAIN_NS}}}t"


def _check_archive(name: str, stream) -> None:
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError):
        raise FileRejected(
            name, "is not a readable XLSX workbook (the ZIP archive is damaged or truncated)."
        ) from None
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise FileRejected(name, f"has {len(members)} parts; an XLSX workbook has far fewer.")
    total = sum(member.file_size for member in members)
    if total > _max_uncompressed():
        raise FileRejected(name, f"expands to {total} bytes, more than the {_max_uncompressed()} allowed.")
    for member in members:
        if member.file_size > 1024 * 1024 and member.file_size > MAX_COMPRESSION_RATIO * max(
            member.compress_size, 1
        ):
            raise FileRejected(
                name,
                f"part {member.filename} is compressed more than {MAX_COMPRESSION_RATIO} times (a ZIP bomb).",
            )
    if "[Content_Types].xml" not in {member.filename for member in members}:
        raise FileRejected(name, "is a ZIP archive but not an XLSX workbook.")
    stream.seek(0)


def _xml_problem(name: str, exc: Exception) -> FileRejected:
    # openpyxl wraps what went wrong in a ValueError; the cause says what it was.
    while exc.__cause__ is not None or exc.__context__ is not None:
        if isinstance(exc, (DefusedXmlException, ParseError, zipfile.BadZipFile, zlib.error)):
            break
        exc = exc.__cause__ or exc.__context__
    if isinstance(exc, DefusedXmlException):
        return FileRejected(name, "contains XML entity or DTD declarations, which are refused.")
    if isinstance(exc, ParseError):
        return FileRejected(name, "contains XML that cannot be parsed.")
    if isinstance(exc, (zipfile.BadZipFile, zlib.error, EOFError)):
        return FileRejected(
            name, "is not a readable XLSX workbook (the ZIP archive is damaged or truncated)."
        )
    return FileRejected(name, "could not be read as an XLSX workbook.")


class _WorkbookReader(ExcelReader):
    """openpyxl's workbook reader, minus its worksheets: read-only mode would parse each one
    whole to find its size when the file does not state it (openpyxl's own exports do not);
    the sheets are listed here and streamed once, by _xlsx_rows."""

    def read_worksheets(self):
        self.sheets = [
            (sheet.name, rel.target)
            for sheet, rel in self.parser.find_sheets()
            if rel.target in self.valid_files and "chartsheet" not in rel.Type
        ]


def _declared_size(archive, path: str) -> tuple[int, int]:
    """(rows, columns) the worksheet's <dimension> declares, read from its head only."""
    with archive.open(path) as source:
        for _event, element in iterparse(source, events=("start",)):
            if element.tag == DIMENSION_TAG:
                boundaries = SheetDimension.from_tree(element).boundaries
                return (boundaries[3] or 0, boundaries[2] or 0) if boundaries else (0, 0)
            if element.tag == DATA_TAG:
                break
    return 0, 0


def _open_xlsx(name: str, stream) -> Upload:
    _check_archive(name, stream)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
            reader = _WorkbookReader(
                stream, read_only=True, data_only=True, keep_links=False, rich_text=False
            )
            reader.read()
        upload = Upload(name=name)
        seen: dict[str, str] = {}
        for title, path in reader.sheets:
            table = table_named(title)
            if table is None:
                upload.ignored.append(title)
                continue
            if table.name in seen:
                raise FileRejected(name, f"sheets {seen[table.name]!r} and {title!r} are both {table.name}.")
            seen[table.name] = title
            max_row, max_column = _declared_size(reader.archive, path)
            if max_row > MAX_ROWS or max_column > MAX_COLUMNS:
                raise FileRejected(
                    name,
                    f"sheet {title!r} declares {max_row} rows and {max_column} columns, more than a "
                    f"worksheet can hold ({MAX_ROWS} rows, {MAX_COLUMNS} columns).",
                )
            upload.sheets.append(Sheet(title, table, _xlsx_rows(name, reader, title, path)))
    except FileRejected:
        raise
    except Exception as exc:  # any failure to parse the file is the file's fault
        raise _xml_problem(name, exc) from None
    return upload


def _xlsx_rows(
    name: str, reader, title: str, path: str
) -> Iterator[tuple[int, dict[int, tuple[object, str]]]]:
    workbook = reader.wb
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with reader.archive.open(path) as source:
                parser = _ValuesParser(
                    source,
                    reader.shared_strings,
                    data_only=True,
                    epoch=workbook.epoch,
                    date_formats=workbook._date_formats,
                    timedelta_formats=workbook._timedelta_formats,
                )
                for number, cells in parser.parse():
                    if number > MAX_ROWS:
                        raise FileRejected(
                            name, f"sheet {title!r} has a row {number}, past Excel's last row."
                        )
                    row = {}
                    for cell in cells:
                        if cell["column"] > MAX_COLUMNS:
                            raise FileRejected(name, f"sheet {title!r} has a cell past Excel's last column.")
                        if cell["value"] is not None or cell["data_type"] == FORMULA_WITHOUT_VALUE:
                            row[cell["column"]] = (cell["value"], cell["data_type"])
                    yield number, row
    except FileRejected:
        raise
    except Exception as exc:  # raised by reading the file, never by the consumer
        raise _xml_problem(name, exc) from None


# --- CSV ----------------------------------------------------------------------------------


def _open_csv(name: str, stream) -> Upload:
    stem = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1][: -len(".csv")]
    table = table_named(stem)
    if table is None:
        raise FileRejected(
            name,
            "names no CRM table: call the file customer.csv, crm_opportunities.csv, revenue_actuals.csv "
            "or revenue_targets.csv (or like the workbook's sheets).",
        )
    upload = Upload(name=name)
    upload.sheets.append(Sheet(name, table, _csv_rows(name, stream)))
    return upload


def _csv_rows(name: str, stream) -> Iterator[tuple[int, dict[int, tuple[object, str]]]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        header = text.readline(MAX_CSV_HEADER_CHARS)
        if len(header) >= MAX_CSV_HEADER_CHARS and not header.endswith("\n"):
            raise FileRejected(name, f"has a header line longer than {MAX_CSV_HEADER_CHARS} characters.")
        # European Excel writes ';' between fields (the comma is its decimal separator).
        delimiter = ";" if header.count(";") > header.count(",") else ","
        reader = csv.reader(itertools.chain([header], text), delimiter=delimiter, strict=True)
        for number, record in enumerate(reader, start=1):
            yield number, {index: (value, "s") for index, value in enumerate(record, start=1) if value != ""}
    except FileRejected:
        raise
    except UnicodeDecodeError:
        raise FileRejected(name, 'is not UTF-8 text; save it from Excel as "CSV UTF-8".') from None
    except csv.Error as exc:
        raise FileRejected(name, f"is not a readable CSV file ({exc}).") from None
    finally:
        text.detach()

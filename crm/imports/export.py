"""The workbook out: the four tables in the import's layout, so export -> import is all unchanged.

One sheet per table, titled as in the original workbook, the header the table's columns
(docs/schema.sql). Written with openpyxl's write-only mode from database iterators, so
neither the rows nor the sheets are ever held in memory whole.
"""

import datetime

from django.db.models import QuerySet
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from .layout import TABLES, Table

DATE_FORMAT = "yyyy-mm-dd"
ITERATOR_CHUNK = 2000


def _cell(sheet, value):
    if isinstance(value, datetime.datetime):
        # Excel has no time zones: the database's timestamps are written as ISO text (UTC).
        return WriteOnlyCell(sheet, value=value.isoformat())
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, datetime.date):
        cell.number_format = DATE_FORMAT
    elif isinstance(value, str):
        # Text is text: a name starting with "=" must not become a formula.
        cell.data_type = "s"
    return cell


# The most rows a workbook from the admin holds (a list's export action, the import page's
# export of the four tables): a workbook is written whole before it is sent, about 240 us a row
# at 1M opportunities, and must be done well within the worker's timeout (GUNICORN_TIMEOUT,
# 40 s), past which the worker is killed. manage.py export_workbook has no such limit.
ADMIN_MAX_ROWS = 50_000


def workbook_export(target, *, querysets: dict[Table, QuerySet] | None = None) -> dict[str, int]:
    """Write the workbook to ``target`` (a path or a binary file); returns the rows per table.

    Without ``querysets``, every row of the four tables (``manage.py export_workbook``); with
    them, one sheet per table given, of that queryset's rows in its order (the admin's
    "Export to workbook" action: the selected rows of one list).
    """
    if querysets is None:
        querysets = {table: table.model.objects.order_by(*table.model._meta.ordering) for table in TABLES}
    workbook = Workbook(write_only=True)
    counts = {}
    for table in TABLES:
        if table not in querysets:
            continue
        sheet = workbook.create_sheet(title=table.title)
        columns = table.columns
        sheet.append([_cell(sheet, column) for column in columns])
        attributes = [table.fields[column].attname for column in columns]
        rows = querysets[table].values_list(*attributes)
        counts[table.name] = 0
        for row in rows.iterator(chunk_size=ITERATOR_CHUNK):
            sheet.append([_cell(sheet, value) for value in row])
            counts[table.name] += 1
    workbook.save(target)
    return counts

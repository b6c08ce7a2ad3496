"""Turning one cell (an XLSX value or a CSV string) into the Python value a service takes.

Only the type is decided here (a number is a number, a date a date); the rules (vocabulary,
ranges, consistency) are the services'. A value that is not of its column's kind raises
CellError with the code and the message the report shows.
"""

import datetime
import re
from decimal import Decimal, InvalidOperation

from .layout import BOOLEAN, DATE, INTEGER, MONEY, TEXT


class CellError(Exception):
    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
# A decimal point or a decimal comma (as European spreadsheets write money); no thousands separator.
_MONEY = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?", re.ASCII)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"0", "false", "no"})
_DATE_HELP = "A date is required (an Excel date or YYYY-MM-DD)."


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _integer(value):
    if isinstance(value, bool):
        raise CellError("invalid", "A whole number is required.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise CellError("invalid", "A whole number is required.")


def _money(value):
    if isinstance(value, bool):
        raise CellError("invalid", "A decimal number is required.")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # repr() is the shortest string that reads back as the same float: 1234.5, not 1234.4999…
        return Decimal(repr(value))
    if isinstance(value, str) and _MONEY.fullmatch(value.strip()):
        try:
            return Decimal(value.strip().replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            pass
    raise CellError("invalid", "A decimal number is required (1234.50 or 1234,50).")


def _date(value):
    if isinstance(value, datetime.datetime):
        if value.time() != datetime.time(0):
            raise CellError("invalid", f"{_DATE_HELP} This cell has a time of day.")
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise CellError("invalid", f"{value.strip()} is not a date of the calendar.") from None
    raise CellError("invalid", _DATE_HELP)


def _boolean(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().casefold()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise CellError("invalid", "Must be 1/0, true/false or yes/no.")


def _text(value):
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise CellError("invalid", "Text is required.")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    raise CellError("invalid", "Text is required.")


_PARSERS = {TEXT: _text, INTEGER: _integer, MONEY: _money, DATE: _date, BOOLEAN: _boolean}


def cell_value(kind: str, value):
    """The Python value of a non-blank cell of a column of ``kind``."""
    return _PARSERS[kind](value)

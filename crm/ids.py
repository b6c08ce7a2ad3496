"""The schema's ids: ``customer.cid`` and the revenue tables' ``id`` are signed INT columns;
``crm_opportunities.oid`` is CHAR(32), written by the service as ``uuid4().hex``.

One definition of the bounds for every place that takes an id from a client (a path, a
query parameter, a body), so an id outside them means the same everywhere: no such row
(or a 400 where a parameter is validated). It never reaches the driver, where SQLite
would overflow on a too-large Python int (a 500) instead of answering "no such row".
"""

import re

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
# Enough characters for any INT with its sign; longer text cannot be one (and Python
# refuses to parse very long digit strings at all).
_MAX_ID_TEXT = len(str(INT_MIN))


def int_id(value: object) -> int | None:
    """``value`` as an id a row can have, else None.

    Takes an int (not a bool) or text of ASCII digits with an optional minus sign, as a
    URL path segment carries it; anything else, and anything out of range, is None.
    """
    if isinstance(value, str):
        digits = value.removeprefix("-")
        if not (0 < len(value) <= _MAX_ID_TEXT and digits.isascii() and digits.isdigit()):
            return None
        value = int(value)
    elif not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if INT_MIN <= value <= INT_MAX else None


# 32 lower-case hex digits. Not folded: an oid in capitals is another string, so a 404 like any
# other unknown oid. MySQL's collation would match it (and an oid with a trailing space, a
# no-break space or an accent) to the stored row, so nothing else may reach the lookup.
_OID = re.compile(r"[0-9a-f]{32}")


def is_oid(value: object) -> bool:
    """Whether ``value`` has the form of an opportunity id (no query needed to refuse it)."""
    return isinstance(value, str) and _OID.fullmatch(value) is not None

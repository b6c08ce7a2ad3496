"""crm.ids.int_id: the one check of the schema's INT ids, for paths, parameters and bodies."""

import pytest

from crm.ids import INT_MAX, INT_MIN, int_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7),
        ("-5", -5),
        ("0", 0),
        (str(INT_MAX), INT_MAX),
        (str(INT_MIN), INT_MIN),
        (42, 42),
        (INT_MIN, INT_MIN),
    ],
)
def test_an_id_a_row_can_have_is_returned_as_an_int(value, expected):
    """ASCII digits with an optional minus, or an int, inside the signed 32-bit range."""
    assert int_id(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        str(INT_MAX + 1),
        str(INT_MIN - 1),
        INT_MAX + 1,
        2**63,
        "",
        "-",
        "+5",
        "1.0",
        " 5",
        "٣",
        "9" * 5000,
        True,
        5.0,
    ],
)
def test_anything_else_is_none(value):
    """Out of range, other spellings, non-ASCII digits, huge digit strings, bools and floats: None."""
    assert int_id(value) is None

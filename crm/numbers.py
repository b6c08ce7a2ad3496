"""Whole numbers and dates as clients write them: ASCII digits only, in bodies and query strings.

Python's ``int()`` (behind DRF's and Django's integer fields) and Django's date parsing also take
other scripts' digits (``"١٠٣٩"``), underscores (``"1_039"``) and surrounding spaces; a client
never means those, and the money field already refuses them. Every integer and date field of
the API is one of the four below, so the rule is said once here.
"""

import re

from django import forms
from rest_framework import serializers

_INTEGER = re.compile(r"-?[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def is_ascii_integer(text: str) -> bool:
    return _INTEGER.fullmatch(text) is not None


def is_ascii_date(text: str) -> bool:
    return _DATE.fullmatch(text) is not None


class IntegerFormField(forms.IntegerField):
    """A query parameter's whole number: ASCII digits with an optional minus sign."""

    def to_python(self, value):
        if isinstance(value, str) and value not in self.empty_values and not is_ascii_integer(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class DateFormField(forms.DateField):
    """A query parameter's date: YYYY-MM-DD in ASCII digits."""

    def to_python(self, value):
        if isinstance(value, str) and value not in self.empty_values and not is_ascii_date(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class IntegerField(serializers.IntegerField):
    """A body's (or a serializer-read query's) whole number: a JSON integer or ASCII digits."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not is_ascii_integer(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class DateField(serializers.DateField):
    """A date: YYYY-MM-DD in ASCII digits."""

    def to_internal_value(self, value):
        if isinstance(value, str) and not is_ascii_date(value):
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)

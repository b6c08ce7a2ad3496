"""Customers as the API returns them: the serializer, and the fast list's row mapper."""

from django.db import models
from rest_framework import serializers

from ..choices import Area
from ..models import Customer

# Every column of the table, in its order: the representation, the fast list and the
# admin's export all show the same fields.
CUSTOMER_FIELDS = tuple(field.name for field in Customer._meta.concrete_fields)
# MySQL and SQLite hand booleans over as 0/1; JSON wants true/false.
_BOOLEAN_FIELDS = tuple(
    field.name for field in Customer._meta.concrete_fields if isinstance(field, models.BooleanField)
)


class CustomerSerializer(serializers.ModelSerializer):
    # A plain string, not an enum: rows written by other tools may hold values outside the
    # vocabulary, and the API returns them as they are rather than failing.
    area = serializers.CharField(
        read_only=True, help_text=f"Normally one of: {', '.join(Area.values)}; legacy rows may differ."
    )

    class Meta:
        model = Customer
        fields = CUSTOMER_FIELDS
        read_only_fields = fields


def customer_rows_to_dicts(rows: list[tuple]) -> list[dict]:
    """The fast list's equivalent of ``CustomerSerializer`` for rows in ``CUSTOMER_FIELDS`` order.

    Dates pass through: MySQL returns ``date`` objects (orjson writes ISO 8601), SQLite
    returns the ISO text it stores. Booleans arrive as 0/1 and are converted here.
    """
    dicts = [dict(zip(CUSTOMER_FIELDS, row, strict=True)) for row in rows]
    for row in dicts:
        for name in _BOOLEAN_FIELDS:
            row[name] = row[name] != 0
    return dicts

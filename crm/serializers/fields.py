"""Input fields of the write bodies: strict about types, answering with the rules' own messages."""

import re
from decimal import Decimal, InvalidOperation

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..choices import MAX_MONTHLY_REVENUE
from ..messages import INVALID_AMOUNT_TEXT, vocabulary_message
from ..services import est_monthly_revenue_problem

# Plain decimal notation with an optional exponent. Decimal() alone would also take "1_000",
# "Infinity" and non-ASCII digits ("١٢٣"), none of which a client means as an amount.
_DECIMAL_TEXT = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")


class StrictCharField(serializers.CharField):
    """A CharField that takes strings only (DRF's would turn 42 into "42")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class VocabularyField(serializers.ChoiceField):
    """A value from one of the crm.choices vocabularies; the error lists the allowed values."""

    def __init__(self, choices_class: type[models.TextChoices], **kwargs):
        kwargs.setdefault("error_messages", {})["invalid_choice"] = vocabulary_message(choices_class)
        super().__init__(choices=choices_class.choices, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


# As documented: a decimal string > 0 with at most 10 whole digits and 2 places (the field
# also takes a JSON number and "1.500"-style trailing zeros, a lenience the schema leaves out).
@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": r"^(?!0*(\.0*)?$)[0-9]{1,10}(\.[0-9]{1,2})?$",
        "example": "1234.50",
    }
)
class MonthlyRevenueField(serializers.DecimalField):
    """est_monthly_revenue: a JSON number or numeric string; NaN, infinity and booleans refused.

    The amount rules (> 0, at most 9,999,999,999.99, at most 2 places) are the service's,
    shared so both layers answer with the same message.
    """

    default_error_messages = {"invalid": INVALID_AMOUNT_TEXT}

    def __init__(self, **kwargs):
        super().__init__(
            max_digits=12,
            decimal_places=2,
            max_value=MAX_MONTHLY_REVENUE,
            min_value=Decimal("0.01"),
            **kwargs,
        )
        # The service's rule replaces DRF's digit counting, which would refuse "1.500".
        self.validators = []

    def to_internal_value(self, data):
        # bool is an int: without this check True would become 1.
        if isinstance(data, bool) or not isinstance(data, (str, int, float, Decimal)):
            self.fail("invalid")
        text = str(data).strip() if not isinstance(data, float) else repr(data)
        if not _DECIMAL_TEXT.match(text):
            self.fail("invalid")
        try:
            value = Decimal(text)
        except InvalidOperation:
            self.fail("invalid")
        problem = est_monthly_revenue_problem(value)
        if problem:
            raise serializers.ValidationError(problem.message, code=problem.code)
        return value.quantize(Decimal("0.01"))

"""What a broken rule says, written once.

The services' checks (``crm.services.opportunities``) and the API's input fields
(``crm.serializers``) both answer from here, so a client reads the same words whichever
layer caught the mistake. Each message goes with the error code it is raised with.
"""

from django.db import models

INVALID_INTEGER = "A valid integer is required."
INVALID_STRING = "A string is required."
INVALID_DATE = "A valid date is required."
INVALID_DECIMAL = "A decimal number is required."
INVALID_AMOUNT_TEXT = "A number or numeric string is required."
NOT_FINITE = "A finite number is required."
BLANK = "This field may not be blank."
NULL_CHARACTERS = "Null characters are not allowed."
NOT_POSITIVE = "Must be greater than 0."
TOO_MANY_DECIMAL_PLACES = "At most 2 decimal places are allowed."
PERCENT_OUT_OF_RANGE = "Must be between 0 and 100."
CLOSED_CATEGORY_NOT_WON = "Forecast category Closed is only for Closed Won opportunities."
UNKNOWN_FIELD = "Unknown field."


def vocabulary_message(choices: type[models.TextChoices]) -> str:
    return one_of(choices.values)


def one_of(values) -> str:
    return "Must be one of: " + ", ".join(values) + "."


def customer_missing(cid) -> str:
    return f"Customer {cid} does not exist."


def customer_taken(cid) -> str:
    return f"Customer {cid} already exists."


def too_long(max_length: int) -> str:
    return f"Ensure this field has no more than {max_length} characters."


def too_large(maximum) -> str:
    return f"Must be at most {maximum}."


def fixed_for_status(status: str, field: str, value) -> str:
    return f"A {status} opportunity must have {field} {value}."

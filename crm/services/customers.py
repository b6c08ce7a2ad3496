"""Customer writes: the rules (customer_validate), create and update.

Customers are keyed by ``cid``, which comes from the source workbook (the column is not
auto-increment), so a create names its cid. The admin and the workbook import write customers
through these functions.
"""

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from .. import messages
from ..choices import Area
from ..models import Customer
from ..report_cache import report_cache_invalidate
from .history import change_record, row_values
from .opportunities import vocabulary_message

# Every column of the table, in the order of docs/schema.sql; all but the key can change.
CUSTOMER_FIELDS = tuple(field.name for field in Customer._meta.concrete_fields)
CUSTOMER_WRITABLE_FIELDS = frozenset(CUSTOMER_FIELDS) - {"cid"}
# A new customer's id: a positive signed INT (the column's type).
CUSTOMER_CID_MIN, CUSTOMER_CID_MAX = 1, 2**31 - 1

_OPTIONAL_TEXT_FIELDS = ("account_executive", "technical_specialist", "industry", "contract_type")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date(value) -> bool:
    # datetime is a date subclass; a timestamp is not a contract date.
    return isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)


def text_problem(value, *, max_length: int, required: bool) -> tuple[str | None, ValidationError | None]:
    """A free-text value trimmed, or the broken rule. Blank is None when not required."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        return None, ValidationError("A string is required.", code="invalid")
    text = value.strip()
    if not text:
        if required:
            return None, ValidationError("This field may not be blank.", code="blank")
        return None, None
    if "\x00" in text:
        return None, ValidationError("Null characters are not allowed.", code="null_characters_not_allowed")
    if len(text) > max_length:
        # Refused, never truncated: a silently shortened name is a different name.
        return None, ValidationError(
            f"Ensure this field has no more than {max_length} characters.", code="max_length"
        )
    return text, None


def customer_validate(
    *,
    cid: int,
    customer_name: str,
    area: str,
    account_executive: str | None = None,
    technical_specialist: str | None = None,
    industry: str | None = None,
    contract_type: str | None = None,
    contract_start_date: datetime.date | None = None,
    contract_end_date: datetime.date | None = None,
    is_active: bool = True,
    is_key_account: bool = False,
) -> dict[str, Any]:
    """Check every rule on a whole customer record; return the values to store (texts trimmed).

    All broken rules are reported at once, as ValidationError({field: [errors]}).
    """
    errors: dict[str, list[ValidationError]] = {}
    values: dict[str, Any] = {}

    def fail(field: str, error: ValidationError) -> None:
        errors.setdefault(field, []).append(error)

    if not _is_int(cid):
        fail("cid", ValidationError("A valid integer is required.", code="invalid"))
    elif not CUSTOMER_CID_MIN <= cid <= CUSTOMER_CID_MAX:
        fail(
            "cid",
            ValidationError(
                f"Must be between {CUSTOMER_CID_MIN} and {CUSTOMER_CID_MAX}.", code="out_of_range"
            ),
        )
    values["cid"] = cid

    texts = {"customer_name": customer_name} | {
        name: value
        for name, value in zip(
            _OPTIONAL_TEXT_FIELDS,
            (account_executive, technical_specialist, industry, contract_type),
            strict=True,
        )
    }
    for name, value in texts.items():
        text, problem = text_problem(
            value, max_length=Customer._meta.get_field(name).max_length, required=name == "customer_name"
        )
        if problem:
            fail(name, problem)
        values[name] = text

    if area not in Area.values:
        fail("area", ValidationError(vocabulary_message(Area), code="invalid_choice"))
    values["area"] = area

    for name, value in (
        ("contract_start_date", contract_start_date),
        ("contract_end_date", contract_end_date),
    ):
        if value is not None and not _is_date(value):
            fail(name, ValidationError("A valid date is required.", code="invalid"))
        values[name] = value
    if (
        _is_date(contract_start_date)
        and _is_date(contract_end_date)
        and contract_end_date < contract_start_date
    ):
        fail(
            "contract_end_date",
            ValidationError("The contract cannot end before it starts.", code="end_before_start"),
        )

    for name, value in (("is_active", is_active), ("is_key_account", is_key_account)):
        if not isinstance(value, bool):
            fail(name, ValidationError("Must be true or false.", code="invalid"))
        values[name] = value

    if errors:
        raise ValidationError(errors)
    return values


def _customer_exists_error(cid) -> ValidationError:
    return ValidationError({"cid": [ValidationError(messages.customer_taken(cid), code="unique")]})


@transaction.atomic
def customer_create(**fields: Any) -> Customer:
    """Create a customer with the cid given; keyword-only (the fields of customer_validate).

    One INSERT: an existing cid is found by the primary key refusing it, not by a SELECT first.
    """
    values = customer_validate(**fields)
    customer = Customer(**values)
    try:
        # force_insert: no "does this cid exist" SELECT of save() first. The IntegrityError
        # leaves this atomic block at once (as the ValidationError), which rolls it back.
        customer.save(force_insert=True)
    except IntegrityError as exc:
        raise _customer_exists_error(values["cid"]) from exc
    change_record(instance=customer, before=None)
    report_cache_invalidate()
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, **changes: Any) -> Customer:
    """Apply ``changes`` (keys from CUSTOMER_WRITABLE_FIELDS); the rules apply to the resulting record.

    The row is re-read under a lock, so the rules are checked against what is stored now;
    only the columns whose value changes are written.
    """
    unknown = set(changes) - CUSTOMER_WRITABLE_FIELDS
    if unknown:
        raise TypeError(f"customer_update() got unknown fields: {', '.join(sorted(unknown))}")
    current = Customer.objects.select_for_update().get(cid=customer.cid)
    record = {name: getattr(current, name) for name in CUSTOMER_FIELDS} | changes
    values = customer_validate(**record)
    changed = [name for name in CUSTOMER_WRITABLE_FIELDS if getattr(current, name) != values[name]]
    before = row_values(current)
    for name in changed:
        setattr(current, name, values[name])
    if changed:
        current.save(update_fields=sorted(changed))
        change_record(instance=current, before=before)
        report_cache_invalidate()
    return current

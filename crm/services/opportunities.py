"""Opportunity writes: the rules (opportunity_validate), create, update, delete and the version."""

import datetime
import hashlib
import json
import uuid
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Now

from .. import messages
from ..choices import (
    DEFAULT_FORECAST_CATEGORY,
    DEFAULT_PROBABILITY,
    FIXED_FORECAST_CATEGORY,
    FIXED_PROBABILITY,
    MAX_MONTHLY_REVENUE,
    ForecastCategory,
    Product,
    Status,
)
from ..ids import int_id
from ..messages import vocabulary_message
from ..models import Customer, Opportunity
from ..report_cache import report_cache_invalidate
from ..scopes import AreaScope
from ..sql import CompiledLookup
from .history import change_record, row_values

# --- Opportunities -----------------------------------------------------------------------
#
# Every rule of an opportunity lives in opportunity_validate, used by create and update
# alike, so the API and the admin enforce the same rules. A broken rule raises
# django.core.exceptions.ValidationError({field: [ValidationError(message, code)]}).

# Columns a caller may change through opportunity_update: every column Django may edit
# (not the oid or the database-set timestamps), with the customer named by its ``cid``.
OPPORTUNITY_WRITABLE_FIELDS = frozenset(
    field.column if field.is_relation else field.name
    for field in Opportunity._meta.concrete_fields
    if field.editable and not field.primary_key
)
_CENT = Decimal("0.01")


class OpportunityChanged(Exception):
    """The stored opportunity is no longer the version the caller read (a stale If-Match)."""


def est_monthly_revenue_problem(value: Decimal) -> ValidationError | None:
    """The rule on a parsed amount; the serializer uses it too, so both answer alike."""
    if not value.is_finite():
        return ValidationError(messages.NOT_FINITE, code="invalid")
    if value <= 0:
        return ValidationError(messages.NOT_POSITIVE, code="min_value")
    if value > MAX_MONTHLY_REVENUE:
        return ValidationError(messages.too_large(MAX_MONTHLY_REVENUE), code="max_value")
    if value != value.quantize(_CENT):
        return ValidationError(messages.TOO_MANY_DECIMAL_PLACES, code="max_decimal_places")
    return None


def _name_problem(value) -> tuple[str | None, ValidationError | None]:
    if not isinstance(value, str):
        return None, ValidationError(messages.INVALID_STRING, code="invalid")
    name = value.strip()
    if not name:
        return None, ValidationError(messages.BLANK, code="blank")
    if "\x00" in name:
        return None, ValidationError(messages.NULL_CHARACTERS, code="null_characters_not_allowed")
    max_length = Opportunity._meta.get_field("opportunity_name").max_length
    if len(name) > max_length:
        # Refused, never truncated: a silently shortened name is a different name.
        return None, ValidationError(messages.too_long(max_length), code="max_length")
    return name, None


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def opportunity_reference_errors(
    *, cid: int, scope: AreaScope = AreaScope.ALL
) -> dict[str, list[ValidationError]]:
    """The references a record makes that do not resolve: ``{"cid": [...]}`` or ``{}``.

    Apart from the other rules so that an answer with field errors (a body missing most
    fields) can still say that the customer does not exist: one answer names every problem.
    A customer outside ``scope`` is answered exactly as one that does not exist.
    """
    if int_id(cid) is not None and Customer.objects.filter(scope.customer_q(), cid=cid).exists():
        return {}
    return {"cid": [ValidationError(messages.customer_missing(cid), code="does_not_exist")]}


def _customer_read(cid: int, scope: AreaScope) -> Customer | None:
    """The customer ``cid`` if it is in ``scope``, with ``database_now``: the database clock's
    reading, the value the timestamp columns' DEFAULT would take in this transaction.

    One query: a create needs the customer for its rule, its representation and its history
    entry's area, and with the clock read here it stores its timestamps itself, so nothing is
    read back after the INSERT (MySQL has no RETURNING).
    """
    if int_id(cid) is None:
        return None
    # From SQL compiled once per scope (crm.sql.CompiledLookup): the ORM's 0.5 ms per create.
    return _CUSTOMER_READ.get(
        scope.cache_key(),
        lambda key: Customer.objects.filter(scope.customer_q(), cid=key).annotate(database_now=Now()),
        cid,
        placeholders=(1, 2),
    )


_CUSTOMER_READ = CompiledLookup(Customer)


def opportunity_validate(
    *,
    cid: int,
    opportunity_name: str,
    product: str,
    status: str,
    est_monthly_revenue: Decimal,
    expected_close_date: datetime.date,
    probability: int | None = None,
    forecast_category: str | None = None,
    check_customer: bool = True,
    scope: AreaScope = AreaScope.ALL,
) -> dict[str, Any]:
    """Check every rule on a whole record; return the values to store.

    The returned dict has the name trimmed and ``probability``/``forecast_category`` filled
    in from the status defaults when they are None. All broken rules are reported at once.
    ``check_customer=False`` skips the customer lookup (an update that keeps the customer);
    a customer outside ``scope`` is one that does not exist.
    """
    values, _ = _validated(
        cid=cid,
        opportunity_name=opportunity_name,
        product=product,
        status=status,
        est_monthly_revenue=est_monthly_revenue,
        expected_close_date=expected_close_date,
        probability=probability,
        forecast_category=forecast_category,
        check_customer=check_customer,
        scope=scope,
    )
    return values


def _validated(
    *,
    cid,
    opportunity_name,
    product,
    status,
    est_monthly_revenue,
    expected_close_date,
    probability,
    forecast_category,
    check_customer: bool,
    scope: AreaScope,
) -> tuple[dict[str, Any], Customer | None]:
    """opportunity_validate's values, and the customer it read (``_customer_read``; None unchecked)."""
    errors: dict[str, list[ValidationError]] = {}
    customer = None

    def fail(field: str, error: ValidationError) -> None:
        errors.setdefault(field, []).append(error)

    if not _is_int(cid):
        fail("cid", ValidationError(messages.INVALID_INTEGER, code="invalid"))
    elif check_customer:
        customer = _customer_read(cid, scope)
        if customer is None:
            fail("cid", ValidationError(messages.customer_missing(cid), code="does_not_exist"))

    name, problem = _name_problem(opportunity_name)
    if problem:
        fail("opportunity_name", problem)

    if product not in Product.values:
        fail("product", ValidationError(vocabulary_message(Product), code="invalid_choice"))
    status_known = status in Status.values
    if not status_known:
        fail("status", ValidationError(vocabulary_message(Status), code="invalid_choice"))

    if isinstance(est_monthly_revenue, bool) or not isinstance(est_monthly_revenue, (Decimal, int)):
        fail("est_monthly_revenue", ValidationError(messages.INVALID_DECIMAL, code="invalid"))
    elif problem := est_monthly_revenue_problem(Decimal(est_monthly_revenue)):
        fail("est_monthly_revenue", problem)

    # datetime is a date subclass; a timestamp is not a close date.
    if not isinstance(expected_close_date, datetime.date) or isinstance(
        expected_close_date, datetime.datetime
    ):
        fail("expected_close_date", ValidationError(messages.INVALID_DATE, code="invalid"))

    if probability is None and status_known:
        probability = DEFAULT_PROBABILITY[status]
    if probability is not None:
        if not _is_int(probability):
            fail("probability", ValidationError(messages.INVALID_INTEGER, code="invalid"))
        elif not 0 <= probability <= 100:
            fail("probability", ValidationError(messages.PERCENT_OUT_OF_RANGE, code="out_of_range"))
        elif status in FIXED_PROBABILITY and probability != FIXED_PROBABILITY[status]:
            fail(
                "probability",
                ValidationError(
                    messages.fixed_for_status(status, "probability", FIXED_PROBABILITY[status]),
                    code="inconsistent_with_status",
                ),
            )

    if forecast_category is None and status_known:
        forecast_category = DEFAULT_FORECAST_CATEGORY[status]
    if forecast_category is not None:
        if forecast_category not in ForecastCategory.values:
            fail(
                "forecast_category",
                ValidationError(vocabulary_message(ForecastCategory), code="invalid_choice"),
            )
        elif status in FIXED_FORECAST_CATEGORY and forecast_category != FIXED_FORECAST_CATEGORY[status]:
            fail(
                "forecast_category",
                ValidationError(
                    messages.fixed_for_status(status, "forecast category", FIXED_FORECAST_CATEGORY[status]),
                    code="inconsistent_with_status",
                ),
            )
        elif forecast_category == ForecastCategory.CLOSED and status_known and status != Status.CLOSED_WON:
            fail(
                "forecast_category",
                ValidationError(messages.CLOSED_CATEGORY_NOT_WON, code="inconsistent_with_status"),
            )

    if errors:
        raise ValidationError(errors)
    values = {
        "cid": cid,
        "opportunity_name": name,
        "product": product,
        "status": status,
        "est_monthly_revenue": Decimal(est_monthly_revenue).quantize(_CENT),
        "probability": probability,
        "forecast_category": forecast_category,
        "expected_close_date": expected_close_date,
    }
    return values, customer


def _opportunity_read(oid: str) -> Opportunity:
    # MySQL has no RETURNING: the database-set timestamps are read back, with the customer
    # in the same query for the API representation.
    return Opportunity.objects.select_related("customer").get(oid=oid)


# MySQL's "a foreign key constraint fails" on INSERT/UPDATE of a child row.
_MYSQL_FK_VIOLATION = 1452


def _is_foreign_key_violation(exc: IntegrityError) -> bool:
    errno = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    return errno == _MYSQL_FK_VIOLATION or "FOREIGN KEY" in str(exc).upper()


def _customer_missing_error(cid) -> ValidationError:
    return ValidationError({"cid": [ValidationError(messages.customer_missing(cid), code="does_not_exist")]})


@transaction.atomic
def opportunity_create(
    *,
    cid: int,
    opportunity_name: str,
    product: str,
    status: str,
    est_monthly_revenue: Decimal,
    expected_close_date: datetime.date,
    probability: int | None = None,
    forecast_category: str | None = None,
    scope: AreaScope = AreaScope.ALL,
) -> Opportunity:
    """Create an opportunity; three queries: the customer (with the database clock), INSERT,
    the history INSERT.

    A customer outside ``scope`` (the caller's areas) is answered as one that does not exist.
    The returned opportunity carries its customer, and the timestamps as stored.
    """
    values, customer = _validated(
        scope=scope,
        cid=cid,
        opportunity_name=opportunity_name,
        product=product,
        status=status,
        est_monthly_revenue=est_monthly_revenue,
        expected_close_date=expected_close_date,
        probability=probability,
        forecast_category=forecast_category,
        check_customer=True,
    )
    del values["cid"]
    # The database's clock, as DEFAULT CURRENT_TIMESTAMP(6) would set it: stored explicitly,
    # so the values are known without reading the row back.
    now = customer.database_now
    opportunity = Opportunity(
        oid=uuid.uuid4().hex, customer=customer, created_at=now, updated_at=now, **values
    )
    try:
        # force_insert: one INSERT, no "does this oid exist" SELECT first.
        opportunity.save(force_insert=True)
    except IntegrityError as exc:
        # The customer was deleted between the check above and this INSERT (MySQL checks
        # the foreign key at once). On SQLite the file lock held since the check keeps the
        # customer from being deleted meanwhile, so the deferred key check cannot fail later.
        # Any other integrity error is not the client's doing and stays a 500.
        if not _is_foreign_key_violation(exc):
            raise
        raise _customer_missing_error(cid) from exc
    change_record(instance=opportunity, before=None)
    report_cache_invalidate()
    return opportunity


def opportunity_version(opportunity: Opportunity) -> str:
    """An opaque version of the stored row (the API's ETag): changes whenever a column does."""
    parts = (
        opportunity.oid,
        opportunity.customer_id,
        opportunity.opportunity_name,
        opportunity.product,
        opportunity.status,
        opportunity.est_monthly_revenue,
        opportunity.probability,
        opportunity.forecast_category,
        opportunity.expected_close_date,
        opportunity.updated_at.isoformat() if opportunity.updated_at else None,
    )
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:32]


def opportunity_update_validate(
    *, opportunity: Opportunity, scope: AreaScope = AreaScope.ALL, **changes: Any
) -> dict[str, Any]:
    """The rule check of opportunity_update, without writing: the values ``changes`` would store.

    ``opportunity`` is the stored row the changes apply to. A change of ``status`` that does
    not mention ``probability``/``forecast_category`` resets them to the new status's
    defaults. Raises ValidationError naming every broken rule, as opportunity_validate.
    """
    unknown = set(changes) - OPPORTUNITY_WRITABLE_FIELDS
    if unknown:
        raise TypeError(f"opportunity_update() got unknown fields: {', '.join(sorted(unknown))}")
    record = {
        "cid": opportunity.customer_id,
        "opportunity_name": opportunity.opportunity_name,
        "product": opportunity.product,
        "status": opportunity.status,
        "est_monthly_revenue": opportunity.est_monthly_revenue,
        "probability": opportunity.probability,
        "forecast_category": opportunity.forecast_category,
        "expected_close_date": opportunity.expected_close_date,
    }
    if "status" in changes and changes["status"] != opportunity.status:
        # A deal moving stage takes the new stage's defaults unless the caller says otherwise.
        record["probability"] = None
        record["forecast_category"] = None
    record.update(changes)
    # A move to a customer outside ``scope`` is refused as a move to one that does not exist.
    return opportunity_validate(
        **record, check_customer=record["cid"] != opportunity.customer_id, scope=scope
    )


@transaction.atomic
def opportunity_update(
    *,
    opportunity: Opportunity,
    expected_versions: Collection[str] | None = None,
    scope: AreaScope = AreaScope.ALL,
    **changes: Any,
) -> Opportunity:
    """Apply ``changes`` (keys from OPPORTUNITY_WRITABLE_FIELDS) and return the stored result.

    The row is re-read under a lock, so the rules are checked against what is stored now,
    not against a copy the caller may have read earlier. ``expected_versions``: the
    versions (opportunity_version) the caller accepts; when the stored one is not among
    them, OpportunityChanged is raised and nothing changes. A change of ``status`` that
    does not mention ``probability``/``forecast_category`` resets them to the new status's
    defaults; None for either also means "the status default". The same rules as for
    create apply to the resulting record. A deal outside ``scope`` (its customer's area, read
    under the lock) raises Opportunity.DoesNotExist, as a deleted one.
    """
    current = Opportunity.objects.select_for_update().get(oid=opportunity.oid)
    if not _in_scope(current, scope):
        raise Opportunity.DoesNotExist(current.oid)
    if expected_versions is not None and opportunity_version(current) not in expected_versions:
        raise OpportunityChanged(current.oid)
    values = opportunity_update_validate(opportunity=current, scope=scope, **changes)

    cid = values.pop("cid")
    changed = [field for field, value in values.items() if getattr(current, field) != value]
    if not changed and cid == current.customer_id:
        # Nothing to write: no UPDATE, so updated_at (and the ETag) stay, and no history entry.
        return _opportunity_read(current.oid)
    before = row_values(current)
    for field in changed:
        setattr(current, field, values[field])
    if cid != current.customer_id:
        current.customer_id = cid
        changed.append("customer")
    # Set explicitly: SQLite has no ON UPDATE, and MySQL's fires only when a value changes.
    current.updated_at = Now()
    try:
        current.save(update_fields=[*changed, "updated_at"])
    except IntegrityError as exc:
        if not _is_foreign_key_violation(exc):
            raise
        raise _customer_missing_error(cid) from exc
    updated = _opportunity_read(current.oid)
    change_record(instance=updated, before=before)
    report_cache_invalidate()
    return updated


def _in_scope(opportunity: Opportunity, scope: AreaScope) -> bool:
    # Asked only for a scope of named areas: the lock stays on the opportunity row alone
    # (FOR UPDATE over a join would lock its customer too), and ALL costs no query.
    if scope.is_all:
        return True
    area = Customer.objects.filter(cid=opportunity.customer_id).values_list("area", flat=True).first()
    return scope.allows(area)


@transaction.atomic
def opportunity_delete(
    *,
    opportunity: Opportunity,
    expected_versions: Collection[str] | None = None,
    scope: AreaScope = AreaScope.ALL,
) -> bool:
    """Delete the opportunity; False when it was already gone (another request deleted it) or is
    outside ``scope``.

    The same version check as opportunity_update, under the same row lock: with
    ``expected_versions`` given and the stored version not among them, OpportunityChanged is
    raised and nothing is deleted. Of several concurrent deletes of one row exactly one
    returns True: the others wait for its lock, then find no row.
    """
    # Read under the lock: the history records the values deleted, not the caller's copy.
    current = (
        Opportunity.objects.select_for_update().select_related("customer").filter(oid=opportunity.oid).first()
    )
    if current is None or not scope.allows(current.customer.area):
        return False
    if expected_versions is not None and opportunity_version(current) not in expected_versions:
        raise OpportunityChanged(current.oid)
    deleted, _ = Opportunity.objects.filter(oid=current.oid).delete()
    change_record(instance=current, before=row_values(current), deleted=True)
    report_cache_invalidate()
    return deleted > 0

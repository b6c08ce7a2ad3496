"""Writes. Every change to CRM data goes through a function here, from the API and the admin alike.

Conventions: ``<entity>_<action>``, keyword-only arguments, ``@transaction.atomic``.
"""

import dataclasses
import datetime
import hashlib
import json
import uuid
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, models, transaction
from django.db.models.functions import Now
from django.utils import timezone
from rest_framework.authtoken.models import Token

from .choices import (
    DEFAULT_FORECAST_CATEGORY,
    DEFAULT_PROBABILITY,
    FIXED_FORECAST_CATEGORY,
    FIXED_PROBABILITY,
    MAX_MONTHLY_REVENUE,
    ForecastCategory,
    Product,
    Status,
)
from .models import Customer, IdempotencyKey, Opportunity

READERS_GROUP = "CRM readers"
EDITORS_GROUP = "CRM editors"

READER_PERMISSIONS = (
    "view_customer",
    "view_opportunity",
    "view_revenueactual",
    "view_revenuetarget",
)
EDITOR_PERMISSIONS = (*READER_PERMISSIONS, "add_opportunity", "change_opportunity", "delete_opportunity")
GROUP_PERMISSIONS = {READERS_GROUP: READER_PERMISSIONS, EDITORS_GROUP: EDITOR_PERMISSIONS}


@transaction.atomic
def crm_groups_ensure() -> dict[str, Group]:
    """Create or complete the two CRM groups; running it again changes nothing."""
    groups = {}
    for name, codenames in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = Permission.objects.filter(content_type__app_label="crm", codename__in=codenames)
        group.permissions.add(*perms)
        groups[name] = group
    return groups


@transaction.atomic
def api_user_ensure(*, username: str, group: str, password: str | None = None) -> tuple[object, str]:
    """A user in one CRM group, with an API token. Returns (user, token key); idempotent."""
    groups = crm_groups_ensure()
    if group not in groups:
        raise ValueError(f"unknown group {group!r}; expected one of: {', '.join(groups)}")
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    user.groups.add(groups[group])
    token, _ = Token.objects.get_or_create(user=user)
    return user, token.key


# --- Opportunities -----------------------------------------------------------------------
#
# Every rule of an opportunity lives in opportunity_validate, used by create and update
# alike, so the API and the admin enforce the same rules. A broken rule raises
# django.core.exceptions.ValidationError({field: [ValidationError(message, code)]}).

# Columns a caller may change through opportunity_update (``cid`` is the customer).
OPPORTUNITY_WRITABLE_FIELDS = frozenset(
    {
        "cid",
        "opportunity_name",
        "product",
        "status",
        "est_monthly_revenue",
        "probability",
        "forecast_category",
        "expected_close_date",
    }
)
# The customer table's cid is a signed INT; anything outside cannot exist (and SQLite
# would overflow on a too-large Python int instead of answering "no such row").
_CID_RANGE = range(-(2**31), 2**31)
_CENT = Decimal("0.01")


class OpportunityChanged(Exception):
    """The stored opportunity is no longer the version the caller read (a stale If-Match)."""


def vocabulary_message(choices: type[models.TextChoices]) -> str:
    return "Must be one of: " + ", ".join(choices.values) + "."


def est_monthly_revenue_problem(value: Decimal) -> ValidationError | None:
    """The rule on a parsed amount; the serializer uses it too, so both answer alike."""
    if not value.is_finite():
        return ValidationError("A finite number is required.", code="invalid")
    if value <= 0:
        return ValidationError("Must be greater than 0.", code="min_value")
    if value > MAX_MONTHLY_REVENUE:
        return ValidationError(f"Must be at most {MAX_MONTHLY_REVENUE}.", code="max_value")
    if value != value.quantize(_CENT):
        return ValidationError("At most 2 decimal places are allowed.", code="max_decimal_places")
    return None


def _name_problem(value) -> tuple[str | None, ValidationError | None]:
    if not isinstance(value, str):
        return None, ValidationError("A string is required.", code="invalid")
    name = value.strip()
    if not name:
        return None, ValidationError("This field may not be blank.", code="blank")
    if "\x00" in name:
        return None, ValidationError("Null characters are not allowed.", code="null_characters_not_allowed")
    max_length = Opportunity._meta.get_field("opportunity_name").max_length
    if len(name) > max_length:
        # Refused, never truncated: a silently shortened name is a different name.
        return None, ValidationError(
            f"Ensure this field has no more than {max_length} characters.", code="max_length"
        )
    return name, None


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
) -> dict[str, Any]:
    """Check every rule on a whole record; return the values to store.

    The returned dict has the name trimmed and ``probability``/``forecast_category`` filled
    in from the status defaults when they are None. All broken rules are reported at once.
    ``check_customer=False`` skips the customer lookup (an update that keeps the customer).
    """
    errors: dict[str, list[ValidationError]] = {}

    def fail(field: str, error: ValidationError) -> None:
        errors.setdefault(field, []).append(error)

    if not _is_int(cid):
        fail("cid", ValidationError("A valid integer is required.", code="invalid"))
    elif check_customer and (cid not in _CID_RANGE or not Customer.objects.filter(cid=cid).exists()):
        fail("cid", ValidationError(f"Customer {cid} does not exist.", code="does_not_exist"))

    name, problem = _name_problem(opportunity_name)
    if problem:
        fail("opportunity_name", problem)

    if product not in Product.values:
        fail("product", ValidationError(vocabulary_message(Product), code="invalid_choice"))
    status_known = status in Status.values
    if not status_known:
        fail("status", ValidationError(vocabulary_message(Status), code="invalid_choice"))

    if isinstance(est_monthly_revenue, bool) or not isinstance(est_monthly_revenue, (Decimal, int)):
        fail("est_monthly_revenue", ValidationError("A decimal number is required.", code="invalid"))
    elif problem := est_monthly_revenue_problem(Decimal(est_monthly_revenue)):
        fail("est_monthly_revenue", problem)

    # datetime is a date subclass; a timestamp is not a close date.
    if not isinstance(expected_close_date, datetime.date) or isinstance(
        expected_close_date, datetime.datetime
    ):
        fail("expected_close_date", ValidationError("A valid date is required.", code="invalid"))

    if probability is None and status_known:
        probability = DEFAULT_PROBABILITY[status]
    if probability is not None:
        if not _is_int(probability):
            fail("probability", ValidationError("A valid integer is required.", code="invalid"))
        elif not 0 <= probability <= 100:
            fail("probability", ValidationError("Must be between 0 and 100.", code="out_of_range"))
        elif status in FIXED_PROBABILITY and probability != FIXED_PROBABILITY[status]:
            fail(
                "probability",
                ValidationError(
                    f"A {status} opportunity must have probability {FIXED_PROBABILITY[status]}.",
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
                    f"A {status} opportunity must have forecast category {FIXED_FORECAST_CATEGORY[status]}.",
                    code="inconsistent_with_status",
                ),
            )
        elif forecast_category == ForecastCategory.CLOSED and status_known and status != Status.CLOSED_WON:
            fail(
                "forecast_category",
                ValidationError(
                    "Forecast category Closed is only for Closed Won opportunities.",
                    code="inconsistent_with_status",
                ),
            )

    if errors:
        raise ValidationError(errors)
    return {
        "cid": cid,
        "opportunity_name": name,
        "product": product,
        "status": status,
        "est_monthly_revenue": Decimal(est_monthly_revenue).quantize(_CENT),
        "probability": probability,
        "forecast_category": forecast_category,
        "expected_close_date": expected_close_date,
    }


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
    return ValidationError(
        {"cid": [ValidationError(f"Customer {cid} does not exist.", code="does_not_exist")]}
    )


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
) -> Opportunity:
    """Create an opportunity; three queries: customer check, INSERT, read-back."""
    values = opportunity_validate(
        cid=cid,
        opportunity_name=opportunity_name,
        product=product,
        status=status,
        est_monthly_revenue=est_monthly_revenue,
        expected_close_date=expected_close_date,
        probability=probability,
        forecast_category=forecast_category,
    )
    oid = uuid.uuid4().hex
    opportunity = Opportunity(oid=oid, customer_id=values.pop("cid"), **values)
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
    return _opportunity_read(oid)


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


@transaction.atomic
def opportunity_update(
    *, opportunity: Opportunity, expected_versions: Collection[str] | None = None, **changes: Any
) -> Opportunity:
    """Apply ``changes`` (keys from OPPORTUNITY_WRITABLE_FIELDS) and return the stored result.

    The row is re-read under a lock, so the rules are checked against what is stored now,
    not against a copy the caller may have read earlier. ``expected_versions``: the
    versions (opportunity_version) the caller accepts; when the stored one is not among
    them, OpportunityChanged is raised and nothing changes. A change of ``status`` that
    does not mention ``probability``/``forecast_category`` resets them to the new status's
    defaults; None for either also means "the status default". The same rules as for
    create apply to the resulting record.
    """
    unknown = set(changes) - OPPORTUNITY_WRITABLE_FIELDS
    if unknown:
        raise TypeError(f"opportunity_update() got unknown fields: {', '.join(sorted(unknown))}")
    current = Opportunity.objects.select_for_update().get(oid=opportunity.oid)
    if expected_versions is not None and opportunity_version(current) not in expected_versions:
        raise OpportunityChanged(current.oid)

    record = {
        "cid": current.customer_id,
        "opportunity_name": current.opportunity_name,
        "product": current.product,
        "status": current.status,
        "est_monthly_revenue": current.est_monthly_revenue,
        "probability": current.probability,
        "forecast_category": current.forecast_category,
        "expected_close_date": current.expected_close_date,
    }
    if "status" in changes and changes["status"] != current.status:
        # A deal moving stage takes the new stage's defaults unless the caller says otherwise.
        record["probability"] = None
        record["forecast_category"] = None
    record.update(changes)
    values = opportunity_validate(**record, check_customer=record["cid"] != current.customer_id)

    cid = values.pop("cid")
    changed = [field for field, value in values.items() if getattr(current, field) != value]
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
    return _opportunity_read(current.oid)


@transaction.atomic
def opportunity_delete(*, opportunity: Opportunity) -> None:
    Opportunity.objects.filter(oid=opportunity.oid).delete()


# --- Idempotency keys --------------------------------------------------------------------
#
# A POST with an Idempotency-Key runs in three steps:
# 1. idempotency_key_claim commits an "in progress" row on its own. The unique constraint
#    (user, key) lets exactly one of any number of concurrent requests insert it; the others
#    get the duplicate-key error as soon as that short transaction commits, read the row and
#    answer 409 (still running), 422 (different body) or the stored response (done).
# 2. The caller does the work and, in the same transaction, idempotency_key_complete stores
#    the response: the opportunity and its key's response commit together or not at all.
# 3. On any failure the caller runs idempotency_key_release, so nothing is remembered for
#    a request that created nothing and the client may retry with the same key.
# Why not claim inside the work's transaction: an uncommitted row is invisible to other
# transactions (REPEATABLE READ on MySQL), so a retry would block on the unique index's
# row lock until the first finished, instead of learning at once that it is in progress.

IDEMPOTENCY_KEY_MAX_LENGTH = 255
# A claim older than this belongs to a request that died (worker killed, connection lost):
# a retry may take it over. Far longer than any request may run.
IDEMPOTENCY_CLAIM_TIMEOUT = datetime.timedelta(minutes=2)
# Keys are kept at least this long; purge_idempotency_keys deletes older ones.
IDEMPOTENCY_KEY_RETENTION = datetime.timedelta(hours=24)
# MySQL's "deadlock found": concurrent inserts of one unique value can end in one.
_MYSQL_DEADLOCK = 1213


class IdempotencyInProgress(Exception):
    """A request with this key is still running."""


class IdempotencyKeyReused(Exception):
    """The key was used before with a different request."""


@dataclasses.dataclass(frozen=True)
class IdempotencyClaim:
    """What idempotency_key_claim found: either a claim to complete, or a response to replay."""

    record: IdempotencyKey
    replay_status: int | None = None
    replay_body: str | None = None

    @property
    def is_replay(self) -> bool:
        return self.replay_status is not None


def idempotency_key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def idempotency_request_fingerprint(*, method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method.upper(), path.rstrip("/"), body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _is_deadlock(exc: OperationalError) -> bool:
    return bool(exc.args) and exc.args[0] == _MYSQL_DEADLOCK


def idempotency_key_claim(*, user, key: str, fingerprint: str) -> IdempotencyClaim:
    """Claim ``key`` for ``user``, or find what an earlier request with it did.

    Returns a claim to complete, or a stored response to replay. Raises
    IdempotencyInProgress (an earlier request still runs) or IdempotencyKeyReused (it had
    another body). Not atomic on purpose: the claim must be committed before the work starts.
    """
    digest = idempotency_key_digest(key)
    now = timezone.now()
    token = uuid.uuid4().hex
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(
                user=user,
                key_digest=digest,
                request_fingerprint=fingerprint,
                claim_token=token,
                claimed_at=now,
                created_at=now,
            )
        return IdempotencyClaim(record=record)
    except IntegrityError:
        pass
    except OperationalError as exc:
        if _is_deadlock(exc):
            raise IdempotencyInProgress(key) from exc
        raise

    # This read runs after the failed INSERT's transaction ended, so it sees the committed
    # row. Inside a caller's older REPEATABLE READ snapshot it might not: then the row is
    # one that committed after our snapshot began, i.e. a request that is (or just was)
    # running, and 409 is the honest answer.
    record = IdempotencyKey.objects.filter(user=user, key_digest=digest).first()
    if record is None:
        raise IdempotencyInProgress(key)
    if record.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(key)
    if record.state == IdempotencyKey.State.COMPLETED:
        return IdempotencyClaim(
            record=record, replay_status=record.response_status, replay_body=record.response_body
        )
    if record.claimed_at < now - IDEMPOTENCY_CLAIM_TIMEOUT:
        # The request that claimed it died without completing or releasing: take it over.
        # The conditional UPDATE lets only one of several retries win.
        taken = IdempotencyKey.objects.filter(
            pk=record.pk, state=IdempotencyKey.State.IN_PROGRESS, claim_token=record.claim_token
        ).update(claim_token=token, claimed_at=now)
        if taken:
            record.claim_token, record.claimed_at = token, now
            return IdempotencyClaim(record=record)
    raise IdempotencyInProgress(key)


def idempotency_key_complete(*, claim: IdempotencyClaim, status: int, body: str) -> None:
    """Store the response; call it inside the transaction that did the work.

    Raises IdempotencyInProgress when the claim was taken over meanwhile, which rolls the
    work back: exactly one request's work is kept.
    """
    completed = IdempotencyKey.objects.filter(
        pk=claim.record.pk,
        state=IdempotencyKey.State.IN_PROGRESS,
        claim_token=claim.record.claim_token,
    ).update(state=IdempotencyKey.State.COMPLETED, response_status=status, response_body=body)
    if not completed:
        raise IdempotencyInProgress(claim.record.key_digest)


def idempotency_key_release(*, claim: IdempotencyClaim) -> None:
    """Forget a claim whose request failed, so the client can retry with the same key."""
    IdempotencyKey.objects.filter(
        pk=claim.record.pk,
        state=IdempotencyKey.State.IN_PROGRESS,
        claim_token=claim.record.claim_token,
    ).delete()


@transaction.atomic
def idempotency_key_purge(*, older_than: datetime.timedelta = IDEMPOTENCY_KEY_RETENTION) -> int:
    """Delete keys created more than ``older_than`` ago; refuses to go below the retention."""
    if older_than < IDEMPOTENCY_KEY_RETENTION:
        raise ValueError(f"keys are kept at least {IDEMPOTENCY_KEY_RETENTION}; got {older_than}")
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted

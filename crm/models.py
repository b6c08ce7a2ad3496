"""Models over the existing IntraSoft schema.

Checklist for the four legacy tables (their DDL is docs/schema.sql, owned by the database
team, not by Django):
- ``managed = False``: migrations never create, alter or drop them in a real database.
- ``db_table`` and every ``db_column`` exactly as in docs/schema.sql; one primary key each.
- Explicit ``on_delete`` that matches the foreign key in the database.
- ``choices`` validate what this service writes; rows written by other tools may hold other
  values and must still load (Django does not check choices on read).

Project-owned tables (idempotency keys, tokens, auth) are ordinary managed models.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.db.models.lookups import Exact, In

from .choices import ALL_AREAS, CLOSED_STATUSES, Area, ForecastCategory, Product, Status

# --- Byte-exact text comparison ------------------------------------------------------------
#
# The vocabulary is compared byte for byte on every backend (docs/forecast.md): MySQL's
# utf8mb4_unicode_ci would match "closed won" against "Closed Won", and every *_bin collation
# there still ignores trailing spaces ("Closed Won " = "Closed Won"), so a legacy spelling
# would count as closed on MySQL and open on SQLite. SQLite's default collation is binary
# already; on MySQL a binary string compares exactly (MySQL 8 and MariaDB alike).
#
# ``CAST(col AS BINARY) IN (...)`` alone cannot use the column's index (the index is in the
# collation's order), so on MySQL the lookups say ``col IN (...) AND CAST(col AS BINARY) IN
# (...)``: every byte-exact match is also a collation match, so the first condition narrows
# through the index (a range scan on idx_opportunities_status) and the second drops the
# legacy spellings among the few rows left.


class _ByteExactMixin:
    def as_mysql(self, compiler, connection):
        sql, params = self.as_sql(compiler, connection)
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        rhs_sql, rhs_params = self.process_rhs(compiler, connection)
        binary = f"CAST({lhs_sql} AS BINARY) {self.get_rhs_op(connection, rhs_sql)}"
        return f"({sql} AND {binary})", (*params, *lhs_params, *rhs_params)


@models.CharField.register_lookup
class ExactlyIn(_ByteExactMixin, In):
    """``field__exactly_in=values``: the value is one of ``values``, byte for byte."""

    lookup_name = "exactly_in"


@models.CharField.register_lookup
class Exactly(_ByteExactMixin, Exact):
    """``field__exactly=value``: the value is ``value``, byte for byte."""

    lookup_name = "exactly"

    def get_rhs_op(self, connection, rhs):
        # The backend's operator table knows the built-in name only.
        return connection.operators["exact"] % rhs


class Customer(models.Model):
    # Not auto-increment: customer ids come from the source workbook.
    cid = models.IntegerField(primary_key=True)
    customer_name = models.CharField(max_length=255)
    area = models.CharField(max_length=32, choices=Area.choices, db_index=True)
    account_executive = models.CharField(max_length=128, null=True, blank=True)
    technical_specialist = models.CharField(max_length=128, null=True, blank=True)
    industry = models.CharField(max_length=64, null=True, blank=True)
    contract_type = models.CharField(max_length=32, null=True, blank=True)
    contract_start_date = models.DateField(null=True, blank=True)
    contract_end_date = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True, db_default=True)
    is_key_account = models.BooleanField(default=False, db_default=False)

    class Meta:
        managed = False
        db_table = "customer"
        ordering = ["cid"]

    def __str__(self) -> str:
        return f"{self.customer_name} ({self.cid})"


class OpportunityQuerySet(models.QuerySet):
    """One definition of "open" shared by the admin, the API, the forecast and the data-quality report.

    A deal is closed when its status is exactly Closed Won or Closed Lost and open otherwise,
    so a legacy status outside the vocabulary ("closed won", "Won") counts as open, and the
    data-quality report lists it (``opportunity.status_unknown``). ``OPEN`` and ``CLOSED``
    are the same conditions as ``Q`` objects, for aggregates (``Count("oid", filter=...)``).
    """

    CLOSED = Q(status__exactly_in=sorted(CLOSED_STATUSES))
    OPEN = ~CLOSED

    def open(self):
        return self.filter(self.OPEN)

    def closed(self):
        return self.filter(self.CLOSED)


class Opportunity(models.Model):
    # CHAR(32): the database does not generate it; services.opportunity_create sets uuid4().hex.
    oid = models.CharField(primary_key=True, max_length=32, editable=False)
    # PROTECT mirrors ON DELETE RESTRICT in the database: a customer with deals must not
    # vanish, or its revenue would silently drop out of every forecast.
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        db_column="cid",
        related_name="opportunities",
    )
    opportunity_name = models.CharField(max_length=255)
    product = models.CharField(max_length=64, choices=Product.choices)
    status = models.CharField(max_length=32, choices=Status.choices, db_index=True)
    # Estimated monthly recurring revenue in EUR.
    est_monthly_revenue = models.DecimalField(max_digits=12, decimal_places=2)
    probability = models.PositiveSmallIntegerField(null=True, blank=True)
    forecast_category = models.CharField(
        max_length=16, choices=ForecastCategory.choices, null=True, blank=True
    )
    expected_close_date = models.DateField(db_index=True)
    # Timestamps come from the database clock (DEFAULT CURRENT_TIMESTAMP(6)): a create reads it
    # with its customer check and stores that reading, an update sets Now() and reads it back.
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)

    objects = OpportunityQuerySet.as_manager()

    class Meta:
        managed = False
        db_table = "crm_opportunities"
        ordering = ["expected_close_date", "oid"]
        verbose_name_plural = "opportunities"

    def __str__(self) -> str:
        return self.opportunity_name


class RevenueActual(models.Model):
    id = models.AutoField(primary_key=True)
    area = models.CharField(max_length=32, choices=Area.choices)
    # Always the first day of the month the revenue was realised in.
    month = models.DateField()
    revenue = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        managed = False
        db_table = "revenue_actuals"
        ordering = ["area", "month"]
        constraints = [models.UniqueConstraint(fields=["area", "month"], name="uq_actuals_area_month")]

    def __str__(self) -> str:
        return f"{self.area} {self.month:%Y-%m}"


class RevenueTarget(models.Model):
    id = models.AutoField(primary_key=True)
    area = models.CharField(max_length=32, choices=Area.choices)
    # Named by the year it ends in: FY2025 runs 2024-07-01 .. 2025-06-30.
    fiscal_year = models.SmallIntegerField()
    target = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        managed = False
        db_table = "revenue_targets"
        ordering = ["area", "fiscal_year"]
        constraints = [models.UniqueConstraint(fields=["area", "fiscal_year"], name="uq_targets_area_fy")]

    def __str__(self) -> str:
        return f"{self.area} FY{self.fiscal_year}"


LEGACY_MODELS = (Customer, Opportunity, RevenueActual, RevenueTarget)


# --- Idempotency keys (project-owned, managed) ------------------------------------------


class IdempotencyKey(models.Model):
    """One ``Idempotency-Key`` a user sent with a POST, and the response it produced.

    The claim (``in_progress``) is committed on its own before the work starts, so a retry
    that arrives meanwhile sees it and gets 409 instead of waiting on a row lock; the
    response is written in the same transaction as the opportunity, so either both exist
    or neither does. The unique constraint is what makes a concurrent retry lose.
    """

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # SHA-256 of the header value: a fixed-size index, and exact (case- and space-sensitive)
    # comparison whatever the column collation.
    key_digest = models.CharField(max_length=64)
    # SHA-256 of method, path and the canonical JSON body: "same key, different body" -> 422.
    request_fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    # Which request holds the claim; completing or releasing a claim someone else took over
    # (after it went stale) must fail.
    claim_token = models.CharField(max_length=32)
    claimed_at = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The JSON body as sent, so a replay is byte-identical (a JSON column may reorder keys).
    response_body = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "crm_idempotency_keys"
        constraints = [
            models.UniqueConstraint(fields=["user", "key_digest"], name="uq_idempotency_user_key"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key_digest[:12]} ({self.state})"


# --- Change history (project-owned, managed) ----------------------------------------------


class Change(models.Model):
    """One recorded write: an opportunity created, updated or deleted, or an admin change of a
    customer or revenue row. Written by crm.services.history.change_record in the same
    transaction as the write itself, so a rolled-back write leaves no entry.

    ``id`` orders the entries of one row (its writes are serialised by the row lock);
    ``position`` orders the change feed by commit and is given after commit by
    change_sequence (docs/architecture.md, "The change feed"): it is NULL until then.
    """

    class Entity(models.TextChoices):
        OPPORTUNITY = "opportunity"
        CUSTOMER = "customer"
        REVENUE_ACTUAL = "revenue_actual"
        REVENUE_TARGET = "revenue_target"

    class Action(models.TextChoices):
        CREATED = "created"
        UPDATED = "updated"
        DELETED = "deleted"

    class Source(models.TextChoices):
        API = "api"
        ADMIN = "admin"
        SHELL = "shell"
        IMPORT = "import"
        COMMAND = "command"

    id = models.BigAutoField(primary_key=True)
    position = models.BigIntegerField(null=True, blank=True, unique=True)
    entity = models.CharField(max_length=16, choices=Entity.choices)
    # The row's primary key as text: an oid, or a cid / id in decimal. "key" is reserved in MySQL.
    key = models.CharField(max_length=32, db_column="entity_key")
    # The opportunity's customer and area at the time (the customer's own for a customer, the
    # row's area for revenue), so the feed can be filtered without joining rows that may be gone.
    cid = models.IntegerField(null=True, blank=True)
    area = models.CharField(max_length=32, null=True, blank=True)
    action = models.CharField(max_length=8, choices=Action.choices)
    # {"field": [old, new]} for each changed field; values as the API writes them (text for
    # amounts and dates). Ordered for reading by crm.services.history.recorded_fields.
    changes = models.JSONField()
    # The username, or null for a system job.
    actor = models.CharField(max_length=150, null=True, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    request_id = models.CharField(max_length=64, null=True, blank=True)
    # Set by the workbook import (source "import") to the import's own id.
    import_id = models.CharField(max_length=64, null=True, blank=True)
    # Database time of the write, microseconds on MySQL (set to Now() by the INSERT).
    at = models.DateTimeField()

    class Meta:
        db_table = "crm_changes"
        # Nobody adds, edits or deletes entries by hand: only crm.view_change exists.
        default_permissions = ("view",)
        indexes = [
            # One row's history, oldest first: GET /api/opportunities/{oid}/history. With ``at``
            # the data-quality report reads each key's last time from this index alone; reading
            # each last entry by its primary key cost 1.1 s more at 1M entries (docs/indexes.md).
            models.Index(fields=["entity", "key", "id", "at"], name="crm_changes_row_at"),
            # The change feed's filters, each one index range in position order.
            models.Index(fields=["entity", "position"], name="crm_changes_entity_pos"),
            models.Index(fields=["area", "position"], name="crm_changes_area_pos"),
            models.Index(fields=["actor", "position"], name="crm_changes_actor_pos"),
            # since= and purge_history --older-than.
            models.Index(fields=["at"], name="crm_changes_at"),
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.key} {self.action}"


class ChangeSequence(models.Model):
    """One row: the last position given to a change. Its row lock serialises change_sequence."""

    id = models.PositiveSmallIntegerField(primary_key=True)
    last_position = models.BigIntegerField()

    class Meta:
        db_table = "crm_change_sequence"
        default_permissions = ()

    def __str__(self) -> str:
        return f"last position {self.last_position}"


# --- Forecast snapshots (project-owned, managed) -----------------------------------------


class ForecastSnapshot(models.Model):
    """One row of the forecast (an area, or the total) as computed on ``as_of``.

    ``manage.py snapshot_forecast`` writes a whole forecast (every area row and the total)
    at once, and once per (fiscal year, day): the unique constraint makes a second run that
    day a no-op. The columns are the fields of crm.forecast.ForecastRow.
    """

    fiscal_year = models.SmallIntegerField()
    as_of = models.DateField()
    # The row's place in the forecast: the vocabulary's order, the total last.
    position = models.PositiveSmallIntegerField()
    area = models.CharField(max_length=32)
    target = models.DecimalField(max_digits=20, decimal_places=2, null=True)
    actuals_to_date = models.DecimalField(max_digits=20, decimal_places=2)
    last_actual_month = models.DateField(null=True)
    run_rate = models.DecimalField(max_digits=20, decimal_places=2)
    remaining_months = models.PositiveSmallIntegerField()
    run_rate_projection = models.DecimalField(max_digits=20, decimal_places=2)
    weighted_pipeline = models.DecimalField(max_digits=20, decimal_places=2)
    projected_total = models.DecimalField(max_digits=20, decimal_places=2)
    gap_to_target = models.DecimalField(max_digits=20, decimal_places=2, null=True)
    attainment_pct = models.DecimalField(max_digits=12, decimal_places=1, null=True)
    projected_attainment_pct = models.DecimalField(max_digits=12, decimal_places=1, null=True)
    open_pipeline_count = models.IntegerField()
    open_pipeline_mrr = models.DecimalField(max_digits=20, decimal_places=2)
    taken_at = models.DateTimeField()

    class Meta:
        db_table = "crm_forecast_snapshots"
        # Read through the forecast's permissions (GET /api/forecast/snapshots); written by the command only.
        default_permissions = ()
        ordering = ["fiscal_year", "as_of", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["fiscal_year", "as_of", "position"], name="uq_forecast_snapshot_row"
            ),
        ]
        # GET /api/forecast/snapshots?fiscal_year=&area=&from=&to=: one index range.
        indexes = [models.Index(fields=["fiscal_year", "area", "as_of"], name="crm_snapshot_series")]

    def __str__(self) -> str:
        return f"FY{self.fiscal_year} {self.as_of} {self.area}"


# --- Area grants (project-owned, managed) ----------------------------------------------


def holder_cascade(collector, field, sub_objs, using):
    """Django's CASCADE without its first step on MySQL, which nulls a nullable key before the
    delete (MySQL cannot defer constraint checks): a grant with neither holder breaks
    ``crm_area_grant_one_holder``. The grants are deleted before their holder instead."""
    collector.collect(
        sub_objs,
        source=field.remote_field.model,
        source_attr=field.name,
        nullable=False,
        fail_on_restricted=False,
    )


class AreaGrant(models.Model):
    """One area, or every area (``all``), granted to a user or to a group: what they may see
    and change (crm/scopes.py). A user's areas are the union of their own grants and their
    groups'; a user with none sees no rows (fail closed). Written by crm.services.access.
    """

    AREA_CHOICES = [*Area.choices, (ALL_AREAS, "All areas")]

    # A grant means nothing without its holder: deleted with it (holder_cascade, not CASCADE).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=holder_cascade, related_name="area_grants"
    )
    group = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=holder_cascade, related_name="area_grants"
    )
    area = models.CharField(max_length=32, choices=AREA_CHOICES)

    class Meta:
        db_table = "crm_area_grants"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True)
                | Q(user__isnull=True, group__isnull=False),
                name="crm_area_grant_one_holder",
            ),
            # NULLs are distinct in a unique index (SQLite and MySQL alike): the user pair binds
            # user grants only, the group pair group grants only.
            models.UniqueConstraint(fields=["user", "area"], name="uq_area_grant_user"),
            models.UniqueConstraint(fields=["group", "area"], name="uq_area_grant_group"),
        ]

    def __str__(self) -> str:
        holder = f"user {self.user_id}" if self.user_id is not None else f"group {self.group_id}"
        return f"{holder}: {self.area}"


# The workbook import's record lives with the import code; imported here so Django sees it.
from .imports.models import ImportRun  # noqa: E402, F401

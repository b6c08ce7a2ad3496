"""The data-quality report: every rule, its level, how many rows break it, and examples.

The report only reads. Its rules reuse the vocabulary and the closed-status rules of
crm/choices.py, the same ones the opportunity API enforces on writes, so a row the API
would refuse is a row the report flags.

Levels: ``error`` for a row that is wrong (outside the vocabulary, contradicting itself,
or silently falsifying the forecast, like a gap in the actuals); ``warning`` for a row
that is incomplete or needs a look but is not wrong in itself (a missing assignment, an
overdue deal, a duplicate name). ``manage.py data_quality`` exits non-zero when any
error-level rule is broken, so it can gate a data load.

A caller's scope (crm/scopes.py) restricts every rule to the rows of its areas, in each
rule's own query, before the rule's condition: customer rules by the customer's area,
opportunity rules by their customer's area, actuals and targets rules by their area. Rows
with an area outside the vocabulary (legacy spellings) are in no area, so only
``AreaScope.ALL`` sees them; its queries are those of an unscoped report.
"""

import contextvars
import datetime
import functools
import operator
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from operator import itemgetter

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import Length, Trim

from .choices import (
    FIXED_FORECAST_CATEGORY,
    FIXED_PROBABILITY,
    Area,
    ForecastCategory,
    Product,
    Status,
    fiscal_year_bounds,
)
from .models import Change, Customer, Opportunity, OpportunityQuerySet, RevenueActual, RevenueTarget
from .scopes import AreaScope
from .sql import sql_of

ERROR = "error"
WARNING = "warning"
MAX_EXAMPLES = 20


@dataclass(frozen=True)
class RuleResult:
    id: str
    entity: str
    level: str
    description: str
    count: int
    examples: list[str]


@dataclass(frozen=True)
class DataQualityReport:
    fiscal_year: int
    as_of: datetime.date
    errors: int
    warnings: int
    rules: list[RuleResult]


@dataclass(frozen=True)
class _Rule:
    id: str
    level: str
    description: str
    # One of: a queryset of offending rows (counted and sampled in SQL); the condition an
    # offending opportunity meets (every such rule is counted in one pass over the table,
    # see _opportunity_results); a function returning every offending key (for checks SQL
    # cannot do the same on both backends); a function returning the count and the first
    # examples (for a check that is cheaper as a query of its own).
    rows: Callable[["_Context"], QuerySet] | None = None
    opportunity_where: Callable[["_Context"], Q] | None = None
    keys: Callable[["_Context"], list[str]] | None = None
    counted: Callable[["_Context"], tuple[int, list[str]]] | None = None
    # Run on a connection of its own while the other rules run (see data_quality_compute).
    alongside: bool = False

    @property
    def entity(self) -> str:
        return self.id.split(".", 1)[0]


@dataclass(frozen=True)
class _Context:
    fiscal_year: int
    as_of: datetime.date
    fiscal_year_end: datetime.date
    scope: AreaScope

    # The rows of the caller's areas: every rule starts from one of these.
    def customers(self) -> QuerySet:
        return Customer.objects.filter(self.scope.customer_q())

    def opportunities(self) -> QuerySet:
        return Opportunity.objects.filter(self.scope.opportunity_q())

    def actuals(self) -> QuerySet:
        # Revenue rows carry their area in a column of the same name as the customer's.
        return RevenueActual.objects.filter(self.scope.customer_q())

    def targets(self) -> QuerySet:
        return RevenueTarget.objects.filter(self.scope.customer_q())


def _blank(field: str) -> Q:
    # Length of the trimmed value, not an equality: MySQL's PAD SPACE collations consider
    # "" equal to "   ".
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}_trimmed_length": 0})


def _missing_assignment(field: str) -> Callable[[_Context], QuerySet]:
    def rows(ctx: _Context) -> QuerySet:
        return (
            ctx.customers().annotate(**{f"{field}_trimmed_length": Length(Trim(field))}).filter(_blank(field))
        )

    return rows


def _name_blank_or_padded(ctx: _Context) -> QuerySet:
    return (
        ctx.customers()
        .annotate(name_length=Length("customer_name"), trimmed_length=Length(Trim("customer_name")))
        .filter(Q(trimmed_length=0) | ~Q(name_length=F("trimmed_length")))
    )


def _normalised_name(name: str) -> str:
    return re.sub(r"\s+", "", name).casefold()


def _duplicate_names(ctx: _Context) -> list[str]:
    # Compared in Python: MySQL's collation would also fold accents ("Zürich" = "Zurich")
    # and SQLite's would fold nothing, and the report must say the same on both.
    by_name: dict[str, list[int]] = {}
    for cid, name in ctx.customers().order_by("cid").values_list("cid", "customer_name"):
        if name.strip():
            by_name.setdefault(_normalised_name(name), []).append(cid)
    return sorted(
        (str(cid) for cids in by_name.values() if len(cids) > 1 for cid in cids),
        key=int,
    )


def _probability_inconsistent(ctx: _Context) -> Q:
    broken = Q(probability__gt=100)
    for status, probability in FIXED_PROBABILITY.items():
        broken |= Q(status__exactly=status, probability__isnull=False) & ~Q(probability=probability)
    return broken


def _category_inconsistent(ctx: _Context) -> Q:
    # As the opportunity API: "Closed" goes with Closed Won only (an unknown status is its own
    # rule); a closed deal carries its fixed category (NULL means the status default, which
    # is that same category).
    other_known = [status for status in Status.values if status != Status.CLOSED_WON]
    broken = Q(forecast_category__exactly=ForecastCategory.CLOSED, status__exactly_in=other_known)
    for status, category in FIXED_FORECAST_CATEGORY.items():
        broken |= Q(status__exactly=status, forecast_category__isnull=False) & ~Q(
            forecast_category__exactly=category
        )
    return broken


def _changed_outside_history(ctx: _Context) -> tuple[int, list[str]]:
    # The opportunities whose updated_at is later than the time of their last recorded change,
    # read from the history's side: each key's latest ``at`` from the (entity, key, id, at)
    # index alone, then its opportunity by its primary key, so the cost follows the number of
    # opportunities with a history, not the table (probing the history once per deal cost
    # seconds at 1M deals even with an empty history). The latest ``at`` is the ``at`` of the
    # highest id: ``at`` is the database's time of the write, and one row's writes are
    # serialised by its row lock, so a later entry never has an earlier time (unless the
    # database clock went back). One query answers the count and the first examples in the
    # list's order. Opportunities with no recorded change at all (written before recording
    # began) are not flagged: there is nothing to compare with.
    connection = connections[Opportunity.objects.db]
    quote = connection.ops.quote_name

    def column(model, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    changes, opportunities = quote(Change._meta.db_table), quote(Opportunity._meta.db_table)
    key, at = column(Change, "key"), column(Change, "at")
    oid = column(Opportunity, "oid")
    order = ", ".join(f"o.{column(Opportunity, name)}" for name in Opportunity._meta.ordering)
    params = [Change.Entity.OPPORTUNITY]
    in_scope = ""
    if not ctx.scope.is_all:
        # The deal's customer in the caller's areas: the scope's own SQL, as a semi-join.
        try:
            customers_sql, customers_params = ctx.customers().values("cid").query.sql_with_params()
        except EmptyResultSet:
            return 0, []
        in_scope = f"o.{column(Opportunity, 'customer')} IN ({customers_sql}) AND "
        params.extend(customers_params)
    # Identifiers from the models' metadata, quoted; the values are bound parameters.
    query = (
        f"SELECT o.{oid}, COUNT(*) OVER () FROM (SELECT {key}, MAX({at}) AS last_at "  # noqa: S608
        f"FROM {changes} WHERE {column(Change, 'entity')} = %s GROUP BY {key}) last "
        f"JOIN {opportunities} o ON o.{oid} = last.{key} "
        f"WHERE {in_scope}o.{column(Opportunity, 'updated_at')} > last.last_at "
        f"ORDER BY {order} LIMIT {MAX_EXAMPLES}"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    return (rows[0][1] if rows else 0), [row[0] for row in rows]


def _actuals_months_missing(ctx: _Context) -> list[str]:
    # One row per area and month by the table's unique key: a few hundred rows at most.
    reported: dict[str, set[tuple[int, int]]] = {}
    # Keyed by the exact spelling: "France " is not France.
    for area, month in ctx.actuals().values_list("area", "month"):
        reported.setdefault(area, set()).add((month.year, month.month))
    gaps = []
    for area in sorted(reported):
        months = reported[area]
        year, month = min(months)
        while (year, month) < max(months):
            if (year, month) not in months:
                gaps.append(f"{area} {year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return gaps


def _targets_missing(ctx: _Context) -> list[str]:
    # Compared in Python, exactly: a "france" target is no target for France.
    present = set(ctx.targets().filter(fiscal_year=ctx.fiscal_year).values_list("area", flat=True))
    return [area for area in Area.values if ctx.scope.allows(area) and area not in present]


RULES: tuple[_Rule, ...] = (
    # --- customer
    _Rule(
        "customer.area_unknown",
        ERROR,
        "Customer area outside the five areas.",
        rows=lambda ctx: ctx.customers().exclude(area__exactly_in=Area.values),
    ),
    _Rule(
        "customer.account_executive_missing",
        WARNING,
        "Customer without an account executive.",
        rows=_missing_assignment("account_executive"),
    ),
    _Rule(
        "customer.technical_specialist_missing",
        WARNING,
        "Customer without a technical specialist.",
        rows=_missing_assignment("technical_specialist"),
    ),
    _Rule(
        "customer.contract_end_before_start",
        ERROR,
        "Contract end date before the contract start date.",
        rows=lambda ctx: ctx.customers().filter(contract_end_date__lt=F("contract_start_date")),
    ),
    _Rule(
        "customer.name_blank_or_padded",
        WARNING,
        "Customer name blank or with leading/trailing spaces.",
        rows=_name_blank_or_padded,
    ),
    _Rule(
        "customer.name_duplicate",
        WARNING,
        "Two or more customers with the same name, ignoring case and spaces (every one is listed).",
        keys=_duplicate_names,
    ),
    # --- opportunity
    _Rule(
        "opportunity.status_unknown",
        ERROR,
        "Opportunity status outside the vocabulary.",
        opportunity_where=lambda ctx: ~Q(status__exactly_in=Status.values),
    ),
    _Rule(
        "opportunity.product_unknown",
        ERROR,
        "Opportunity product outside the vocabulary.",
        opportunity_where=lambda ctx: ~Q(product__exactly_in=Product.values),
    ),
    _Rule(
        "opportunity.forecast_category_unknown",
        ERROR,
        "Opportunity forecast category outside the vocabulary.",
        opportunity_where=lambda ctx: (
            Q(forecast_category__isnull=False) & ~Q(forecast_category__exactly_in=ForecastCategory.values)
        ),
    ),
    _Rule(
        "opportunity.probability_inconsistent",
        ERROR,
        "Probability above 100, or not 100 on a Closed Won / not 0 on a Closed Lost deal.",
        opportunity_where=_probability_inconsistent,
    ),
    _Rule(
        "opportunity.forecast_category_inconsistent",
        ERROR,
        "Forecast category contradicts the status (Closed only with Closed Won, Omitted on Closed Lost).",
        opportunity_where=_category_inconsistent,
    ),
    _Rule(
        "opportunity.est_monthly_revenue_not_positive",
        ERROR,
        "Estimated monthly revenue zero or negative.",
        opportunity_where=lambda ctx: Q(est_monthly_revenue__lte=0),
    ),
    _Rule(
        "opportunity.overdue",
        WARNING,
        "Open deal (not Closed Won/Lost) whose expected close date is before as_of.",
        opportunity_where=lambda ctx: OpportunityQuerySet.OPEN & Q(expected_close_date__lt=ctx.as_of),
    ),
    _Rule(
        "opportunity.close_after_fiscal_year",
        WARNING,
        "Expected close date after the end of the fiscal year.",
        opportunity_where=lambda ctx: Q(expected_close_date__gt=ctx.fiscal_year_end),
    ),
    _Rule(
        "opportunity.changed_outside_history",
        WARNING,
        "Opportunity updated after its last recorded change: written by another tool straight into the "
        "database, so its history misses that change.",
        counted=_changed_outside_history,
        # Seconds of primary-key reads at 1M deals with a history as large as the table: as
        # long as all the other rules together, and independent of them.
        alongside=True,
    ),
    _Rule(
        "opportunity.customer_inactive",
        WARNING,
        "Opportunity on an inactive customer.",
        # A semi-join, not a join: the inactive customers' ids are read once, not once per deal.
        opportunity_where=lambda ctx: Q(
            customer_id__in=Customer.objects.filter(is_active=False).values("cid")
        ),
    ),
    # --- revenue
    _Rule(
        "revenue.target_missing",
        WARNING,
        "Area without a revenue target for the fiscal year (its forecast has no target).",
        keys=_targets_missing,
    ),
    _Rule(
        "revenue.actuals_month_missing",
        ERROR,
        "Month missing from an area's actuals between its first and last reported month.",
        keys=_actuals_months_missing,
    ),
    _Rule(
        "revenue.actuals_area_unknown",
        ERROR,
        "Revenue actuals for an area outside the five areas.",
        rows=lambda ctx: ctx.actuals().exclude(area__exactly_in=Area.values),
    ),
    _Rule(
        "revenue.targets_area_unknown",
        ERROR,
        "Revenue targets for an area outside the five areas.",
        rows=lambda ctx: ctx.targets().exclude(area__exactly_in=Area.values),
    ),
)

# How a row is named in the examples: the key a person would look it up by.
_EXAMPLE_KEY = {
    Customer: lambda row: str(row["cid"]),
    Opportunity: lambda row: row["oid"],
    RevenueActual: lambda row: f"{row['area']} {row['month']:%Y-%m}",
    RevenueTarget: lambda row: f"{row['area']} FY{row['fiscal_year']}",
}
_EXAMPLE_FIELDS = {
    Customer: ("cid",),
    Opportunity: ("oid",),
    RevenueActual: ("area", "month"),
    RevenueTarget: ("area", "fiscal_year"),
}


def _result(rule: _Rule, count: int, examples: list[str]) -> RuleResult:
    return RuleResult(
        id=rule.id,
        entity=rule.entity,
        level=rule.level,
        description=rule.description,
        count=count,
        examples=examples,
    )


def _evaluate(rule: _Rule, ctx: _Context) -> RuleResult:
    if rule.rows is not None:
        rows = rule.rows(ctx)
        model = rows.model
        count = rows.count()
        sample = rows.order_by(*model._meta.ordering, "pk").values(*_EXAMPLE_FIELDS[model])[:MAX_EXAMPLES]
        return _result(rule, count, [_EXAMPLE_KEY[model](row) for row in sample])
    if rule.counted is not None:
        return _result(rule, *rule.counted(ctx))
    keys = rule.keys(ctx)
    return _result(rule, len(keys), keys[:MAX_EXAMPLES])


# A rule broken by fewer than one opportunity in this many is "rare": its examples come from
# a scan (shared by all rare rules) sorted in Python; a commoner one's from walking the
# close-date index in order.
_RARE = 1000


def _opportunity_results(rules: list[_Rule], ctx: _Context) -> dict[str, RuleResult]:
    """Every opportunity rule counted in one pass over the table, then examples where broken.

    Counting each rule on its own would scan the table once per rule; taking each rule's
    first examples in the list's order (expected_close_date, oid) with ORDER BY ... LIMIT
    lets MySQL walk the close-date index and read rows one by one until it has found 20,
    which for a rule that few or no rows break is the whole table in random order (over a
    minute at 1M rows). So the counts come first, in one aggregate. The rare rules' examples
    come from one more scan without ORDER BY that returns at most 1/_RARE of the table per
    rare rule, sorted here; a common rule's from the index walk, which finds 20 matches
    within about 20 x _RARE rows.
    """
    conditions = {rule.id: rule.opportunity_where(ctx) for rule in rules}
    names = {rule.id: f"rule_{n}" for n, rule in enumerate(rules)}
    counted = {names[rule_id]: Count("pk", filter=where) for rule_id, where in conditions.items()}
    counts = ctx.opportunities().aggregate(total=Count("pk"), **counted)
    count_of = {rule.id: counts[names[rule.id]] for rule in rules}
    examples: dict[str, list[str]] = {rule.id: [] for rule in rules}

    rare = [rule_id for rule_id, count in count_of.items() if count > 0 and count * _RARE < counts["total"]]
    if rare:
        flags = {
            names[rule_id]: ExpressionWrapper(conditions[rule_id], output_field=BooleanField())
            for rule_id in rare
        }
        any_rare = functools.reduce(operator.or_, (conditions[rule_id] for rule_id in rare))
        rows = ctx.opportunities().filter(any_rare).annotate(**flags).order_by()
        for row in sorted(
            rows.values("expected_close_date", "oid", *flags), key=itemgetter("expected_close_date", "oid")
        ):
            for rule_id in rare:
                if row[names[rule_id]] and len(examples[rule_id]) < MAX_EXAMPLES:
                    examples[rule_id].append(row["oid"])

    ordering = [*Opportunity._meta.ordering, "pk"]
    for rule in rules:
        if count_of[rule.id] and rule.id not in rare:
            first = ctx.opportunities().filter(conditions[rule.id]).order_by(*ordering)
            examples[rule.id] = [oid for (oid,) in _index_walk(first.values_list("oid")[:MAX_EXAMPLES])]
    return {rule.id: _result(rule, count_of[rule.id], examples[rule.id]) for rule in rules}


def _index_walk(queryset: QuerySet) -> list[tuple]:
    # Opportunities first (crm.sql): MySQL drives "cid IN (inactive customers) ORDER BY close
    # date LIMIT 20" from customer and sorts the table's matches (5 s at 1M), where walking the
    # close-date index finds 20 within a few hundred rows.
    try:
        sql, params = sql_of(queryset, first_table=True)
    except EmptyResultSet:
        return []
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _alongside_possible(alias: str) -> bool:
    # Another connection sees only what is committed: inside a transaction (a caller's
    # atomic block, a test's) every rule runs on the caller's connection, so the report
    # still sees that transaction's rows.
    return not connections[alias].in_atomic_block


def _on_own_connection(rule: _Rule, ctx: _Context) -> RuleResult:
    try:
        return _evaluate(rule, ctx)
    finally:
        # The thread ends with the rule: its connections go with it (the thread's own only).
        connections.close_all()


def data_quality_compute(*, fiscal_year: int, as_of: datetime.date, scope: AreaScope) -> DataQualityReport:
    """Every rule over the rows of ``scope``'s areas (every row for ALL).

    The rules marked ``alongside`` run on a second connection, in a thread, while this one
    runs the rest: the database works on both at once, so the report takes as long as the
    longer part, not the sum. Each statement reads its own snapshot either way (autocommit),
    so the answer is the same as one after the other.
    """
    ctx = _Context(
        fiscal_year=fiscal_year, as_of=as_of, fiscal_year_end=fiscal_year_bounds(fiscal_year)[1], scope=scope
    )
    # The request's database for the CRM tables is chosen here, before a second thread reads
    # (crm/replicas.py): the thread inherits the choice with the request's context, so one
    # report never mixes two replicas.
    alias = Opportunity.objects.db
    pending: dict[str, Future] = {}
    executor = None
    if _alongside_possible(alias) and any(rule.alongside for rule in RULES):
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="data-quality")
        request_context = contextvars.copy_context()
        pending = {
            rule.id: executor.submit(request_context.run, _on_own_connection, rule, ctx)
            for rule in RULES
            if rule.alongside
        }
    try:
        by_opportunity_pass = _opportunity_results([r for r in RULES if r.opportunity_where is not None], ctx)
        results = [
            by_opportunity_pass.get(rule.id)
            or (pending[rule.id].result() if rule.id in pending else _evaluate(rule, ctx))
            for rule in RULES
        ]
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
    return DataQualityReport(
        fiscal_year=fiscal_year,
        as_of=as_of,
        errors=sum(1 for r in results if r.level == ERROR and r.count),
        warnings=sum(1 for r in results if r.level == WARNING and r.count),
        rules=results,
    )

"""Reads. Views, the admin and management commands get their data from functions here.

Conventions: ``<entity>_<action>``, keyword-only arguments; list selectors take the raw
query parameters as ``filters`` and run the FilterSet themselves, raising Django's
``ValidationError`` (naming each bad parameter) rather than ignoring a bad filter.

Every read of CRM rows takes the caller's ``scope`` (crm/scopes.py; the views pass
``scope_for(request.user)``) and applies it in the same query, before any filter: a row outside
it is absent from a list and None for a single read, exactly like one that does not exist.
``AreaScope.ALL`` adds no condition, so its SQL is what it was before scopes.
"""

import dataclasses
import datetime
from collections.abc import Callable, Sequence

from django.core.exceptions import ValidationError
from django.db.models import QuerySet, prefetch_related_objects
from django.utils import timezone

from .choices import (
    ALL_AREAS,
    DEFAULT_FORECAST_CATEGORY,
    DEFAULT_PROBABILITY,
    Area,
    ForecastCategory,
    Product,
    Status,
)

# --- Revenue, forecast and data quality ------------------------------------------------
from .data_quality import DataQualityReport, data_quality_compute
from .filters import (
    ChangeFilter,
    CustomerFilter,
    CustomerOpportunityFilter,
    OpportunityFilter,
    RevenueActualFilter,
    RevenueTargetFilter,
)
from .forecast import Forecast, forecast_compute, forecast_period, forecast_row_of, forecast_total
from .ids import int_id, is_oid
from .models import Change, Customer, ForecastSnapshot, Opportunity, RevenueActual, RevenueTarget
from .movement import TOTAL as MOVEMENT_TOTAL
from .movement import Movement, movement_compute
from .report_cache import report_cached
from .scopes import AreaScope, access_of, scope_for
from .services.access import ROLE_GROUPS
from .services.history import change_sequence
from .sql import PageSQL, objects_of, rows_of


def _filtered(filterset_class, filters, queryset: QuerySet) -> QuerySet:
    filterset = filterset_class(filters or {}, queryset=queryset, named_only=True)
    if not filterset.is_valid():
        # as_data() keeps each error's code ("invalid_choice", ...) for the API's answer.
        raise ValidationError(filterset.errors.as_data())
    return filterset.qs


def revenue_actual_list(*, filters=None, scope: AreaScope) -> QuerySet[RevenueActual]:
    """Monthly revenue per area of ``scope``, ordered by area and month."""
    rows = RevenueActual.objects.filter(scope.customer_q()).order_by("area", "month")
    return _filtered(RevenueActualFilter, filters, rows)


def revenue_target_list(*, filters=None, scope: AreaScope) -> QuerySet[RevenueTarget]:
    """Fiscal-year targets per area of ``scope``, ordered by area and fiscal year."""
    rows = RevenueTarget.objects.filter(scope.customer_q()).order_by("area", "fiscal_year")
    return _filtered(RevenueTargetFilter, filters, rows)


def forecast_by_area(
    *, fiscal_year: int | None = None, as_of: datetime.date | None = None, scope: AreaScope
) -> Forecast:
    """The fiscal-year forecast, one row per area of ``scope`` plus their total (docs/forecast.md).

    Answered from the cache of crm/report_cache.py (keyed by the scope) when nothing was
    written since. Missing ``fiscal_year``/``as_of`` take the defaults of ``forecast.forecast_period``.
    """
    fiscal_year, as_of = forecast_period(fiscal_year=fiscal_year, as_of=as_of)
    return report_cached(
        "forecast",
        (fiscal_year, as_of),
        lambda: forecast_compute(fiscal_year=fiscal_year, as_of=as_of, scope=scope),
        scope=scope,
    )


def data_quality_report(
    *, fiscal_year: int | None = None, as_of: datetime.date | None = None, scope: AreaScope
) -> DataQualityReport:
    """Every data-quality rule with its level, count and examples over the rows of ``scope``'s
    areas (docs/data-quality.md); reads only; cached as the forecast."""
    fiscal_year, as_of = forecast_period(fiscal_year=fiscal_year, as_of=as_of)
    return report_cached(
        "data_quality",
        (fiscal_year, as_of),
        lambda: data_quality_compute(fiscal_year=fiscal_year, as_of=as_of, scope=scope),
        scope=scope,
    )


def forecast_snapshot_list(
    *,
    fiscal_year: int,
    area: str | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    scope: AreaScope,
) -> QuerySet[ForecastSnapshot] | list[ForecastSnapshot]:
    """Stored forecast rows of a fiscal year, oldest day first, each day in the forecast's row order.

    For ALL, the rows as stored (every area and the stored total). For a scope of named areas,
    the stored rows of those areas only (the scope is the query's first condition) and, per
    day, a total computed from them as the forecast computes its total (its target only when
    every one of them has one); a day without a row of the scope has no total.
    """
    if scope.is_all:
        rows = ForecastSnapshot.objects.filter(fiscal_year=fiscal_year)
    else:
        rows = ForecastSnapshot.objects.filter(scope.customer_q(), fiscal_year=fiscal_year)
    if area is not None and not (area == MOVEMENT_TOTAL and not scope.is_all):
        rows = rows.filter(area=area)
    if date_from is not None:
        rows = rows.filter(as_of__gte=date_from)
    if date_to is not None:
        rows = rows.filter(as_of__lte=date_to)
    rows = rows.order_by("as_of", "position")
    if scope.is_all or (area is not None and area != MOVEMENT_TOTAL):
        return rows
    by_day: dict[datetime.date, list[ForecastSnapshot]] = {}
    for row in rows:
        by_day.setdefault(row.as_of, []).append(row)
    answer = []
    for day, day_rows in by_day.items():
        total = forecast_total([forecast_row_of(row) for row in day_rows])
        total_row = ForecastSnapshot(
            fiscal_year=fiscal_year,
            as_of=day,
            position=day_rows[-1].position + 1,
            taken_at=max(row.taken_at for row in day_rows),
            **dataclasses.asdict(total),
        )
        answer.extend([total_row] if area == MOVEMENT_TOTAL else [*day_rows, total_row])
    return answer


def forecast_movement(
    *,
    fiscal_year: int,
    date_from: datetime.date,
    date_to: datetime.date,
    detail: bool = False,
    scope: AreaScope,
) -> Movement:
    """Each area's pipeline at the start of ``date_from`` and the end of ``date_to``, and the
    change between them in buckets (docs/forecast.md, "Pipeline movement"), for the areas of
    ``scope`` and their total."""
    return movement_compute(
        fiscal_year=fiscal_year, date_from=date_from, date_to=date_to, detail=detail, scope=scope
    )


# --- Customers -----------------------------------------------------------------------


def customer_list(*, filters=None, scope: AreaScope) -> QuerySet[Customer]:
    """Customers of ``scope`` matching ``filters`` (query parameters), by cid unless ``ordering``
    says otherwise."""
    return _filtered(CustomerFilter, filters, Customer.objects.filter(scope.customer_q()).order_by("cid"))


def customer_get(*, cid: int | str, scope: AreaScope) -> Customer | None:
    """The customer, or None (also outside ``scope``); ``cid`` an int or the text of a URL.
    Every customer-scoped view asks here."""
    number = int_id(cid)
    if number is None:
        return None
    return Customer.objects.filter(scope.customer_q(), cid=number).first()


# --- Opportunities -----------------------------------------------------------------------


def opportunity_list(
    *, filters=None, customer: Customer | None = None, scope: AreaScope
) -> QuerySet[Opportunity]:
    """Opportunities of ``scope`` with their customer (one query), filtered by OpportunityFilter's
    parameters.

    For one ``customer`` the filters are CustomerOpportunityFilter's: no ``cid`` parameter. The
    scope is the customer's area, the same condition as the ``area`` filter, so the page query
    keeps opportunities first (opportunity_page_fetch).
    """
    queryset = Opportunity.objects.select_related("customer").filter(scope.opportunity_q())
    if customer is None:
        return _filtered(OpportunityFilter, filters, queryset)
    return _filtered(CustomerOpportunityFilter, filters, queryset.filter(customer=customer))


def opportunity_page_fetch(page: QuerySet[Opportunity], *, columns: Sequence[str]) -> list[tuple]:
    """Run a page (a sliced ``opportunity_list``) as tuples of ``columns``, at a cost that does
    not grow with the table.

    One query: the page's opportunities joined to their customers. Joined and sorted, MySQL
    would drive the join from ``customer`` and sort every opportunity before it takes the
    page; ``STRAIGHT_JOIN`` (MySQL 8 and MariaDB alike, ``crm.sql``) keeps opportunities first,
    so the close-date index (or the keyset's range on it) delivers the order, the scan stops
    at the page's end and each row's customer is one primary-key lookup. An order by a
    customer column is sorted whatever the join order, and is left to the optimizer.

    Tuples, not model instances: the view turns them into the representation with the list's
    own row function (``opportunity_rows_to_dicts``), no serializer per row.

    With an offset, the rows skipped are read from the index alone (their oids), and only the
    page's rows are read whole: otherwise MySQL reads every skipped row, or sorts the table.
    """
    if page.query.low_mark:
        oids = [oid for (oid,) in rows_of(page.values_list("oid"))]
        oid_at = list(columns).index("oid")
        rows = Opportunity.objects.using(page.db).filter(oid__in=oids).order_by().values_list(*columns)
        by_oid = {row[oid_at]: row for row in rows}
        return [by_oid[oid] for oid in oids if oid in by_oid]
    return rows_of(page.values_list(*columns))


def opportunity_page_objects(page: QuerySet[Opportunity], *, scan: bool = False) -> list[Opportunity]:
    """``opportunity_page_fetch`` as model instances with their customers (the admin's list):
    the page's rows in one query kept to the close-date index, their customers in a second
    one by key, an offset's skipped rows read from the index alone.

    ``scan`` for a search, whose matches may be anywhere in the order: the rows are read by a
    scan and sorted (``crm.sql.sql_of``), at most a read of the table, instead of the index walk
    that reads it row by row for a word few rows have.
    """
    if page.query.low_mark:
        oids = [oid for (oid,) in rows_of(page.values_list("oid"), scan=scan)]
        by_oid = Opportunity.objects.using(page.db).in_bulk(oids)
        rows = [by_oid[oid] for oid in oids if oid in by_oid]
    else:
        rows = objects_of(page, scan=scan)
    prefetch_related_objects(rows, "customer")
    return rows


def opportunity_close_date_range(
    queryset: QuerySet[Opportunity],
) -> tuple[datetime.date, datetime.date] | None:
    """The first and last close date of ``queryset``, or None when it is empty.

    Each end is the first row of the close-date index in one direction (two index reads):
    MIN and MAX over a join to the customers (a caller's areas) read every row of them.
    """
    ends = []
    for order in ("expected_close_date", "-expected_close_date"):
        found = rows_of(queryset.order_by(order).values_list("expected_close_date")[:1])
        if not found:
            return None
        ends.append(found[0][0])
    return ends[0], ends[1]


# The opportunity lists' cursor pages, compiled once per shape (crm.sql.PageSQL).
_CURSOR_PAGES = PageSQL()


def opportunity_cursor_page_fetch(
    page: Callable[[], QuerySet[Opportunity]], *, shape: tuple, position: Sequence, columns: Sequence[str]
) -> list[tuple]:
    """A cursor page of ``opportunity_list`` as tuples of ``columns``, as opportunity_page_fetch
    runs it, from SQL compiled once per ``shape`` (the paginator's, with the caller's scope in it:
    the scope is part of the query). ``page()`` builds the sliced queryset when the shape is new.
    """
    return _CURSOR_PAGES.rows((*shape, tuple(columns)), lambda: page().values_list(*columns), position)


def opportunity_get(*, oid: str, scope: AreaScope) -> Opportunity | None:
    """The opportunity with exactly this oid; None for an unknown or malformed one (no query then),
    or one whose customer is outside ``scope``.

    The database compares CHAR columns through their collation (case- and accent-insensitive,
    trailing spaces ignored on MySQL): the row found must also carry this very oid.
    """
    if not is_oid(oid):
        return None
    opportunity = (
        Opportunity.objects.select_related("customer").filter(scope.opportunity_q(), oid=oid).first()
    )
    return opportunity if opportunity is not None and opportunity.oid == oid else None


def access_get(*, user) -> dict:
    """What GET /api/me answers: the caller's username, roles, permissions and areas.

    From the access cache (crm/scopes.py): no query once the user's access is known.
    """
    scope = scope_for(user)
    groups = set(access_of(user).groups)
    return {
        "username": user.get_username(),
        "roles": [role for role, group in ROLE_GROUPS.items() if group in groups],
        "permissions": sorted(user.get_all_permissions()),
        "areas": ALL_AREAS if scope.is_all else list(scope.areas),
    }


def vocabulary_get() -> dict:
    """The CRM vocabulary and status defaults, as GET /api/vocabulary returns them."""
    return {
        "areas": Area.values,
        "statuses": Status.values,
        "products": Product.values,
        "forecast_categories": ForecastCategory.values,
        "status_defaults": {
            status: {
                "probability": DEFAULT_PROBABILITY[status],
                "forecast_category": str(DEFAULT_FORECAST_CATEGORY[status]),
            }
            for status in Status.values
        },
    }


# --- Change history ------------------------------------------------------------------------
# How the entries are written and why the feed is exactly-once: crm/services/history.py and
# docs/architecture.md.


def opportunity_history(*, oid: str, scope: AreaScope) -> QuerySet[Change]:
    """Every recorded change of one opportunity, oldest first (also after it was deleted).

    Within ``scope`` by each entry's area (the deal's area when it was written), as the change
    feed: a caller sees the changes made while the deal was in one of their areas.
    """
    entries = Change.objects.filter(scope.customer_q(), entity=Change.Entity.OPPORTUNITY, key=oid)
    return entries.order_by("id")


def opportunity_stages(*, oid: str, scope: AreaScope) -> list[dict] | None:
    """Each status the opportunity has been in, from its history; None when none was recorded.

    ``entered_at`` is None for a status it already had when its history begins (a row
    written before recording started, or by another tool); ``exited_at`` is None for the
    status it is in now, and the deletion time for the last status of a deleted one.
    """
    entries = list(opportunity_history(oid=oid, scope=scope).only("action", "changes", "at"))
    if not entries:
        return None
    stages: list[dict] = []
    for entry in entries:
        old, new = entry.changes.get("status", [None, None])
        if entry.action == Change.Action.DELETED:
            if stages:
                stages[-1]["exited_at"] = entry.at
            elif old is not None:
                stages.append({"status": old, "entered_at": None, "exited_at": entry.at})
            continue
        if new is None or old == new:
            continue
        if stages:
            stages[-1]["exited_at"] = entry.at
        elif old is not None:
            stages.append({"status": old, "entered_at": None, "exited_at": entry.at})
        stages.append({"status": new, "entered_at": entry.at, "exited_at": None})
    if not stages:
        # Recorded changes that never touched the status: it is the one stored now, if any.
        current = (
            Opportunity.objects.filter(scope.opportunity_q(), oid=oid)
            .values_list("status", flat=True)
            .first()
        )
        if current is not None:
            stages.append({"status": current, "entered_at": None, "exited_at": None})
    now = timezone.now()
    for stage in stages:
        start, end = stage["entered_at"], stage["exited_at"] or now
        stage["days"] = None if start is None else round((end - start).total_seconds() / 86400, 2)
    return stages


def change_feed_page(
    *, position: int = 0, limit: int = 100, filters=None, scope: AreaScope
) -> tuple[list[Change], int]:
    """The change feed: up to ``limit`` entries after ``position`` in position (commit) order,
    and the position to continue from.

    First gives positions to the entries committed since the last call (change_sequence).
    A page shorter than ``limit`` holds every match up to the last position given, so the
    next page starts there: a filtered consumer does not read the same range again.
    """
    last_given = change_sequence()
    # By each entry's area at the time of the change; entries of no area (none so far) only for ALL.
    queryset = _filtered(ChangeFilter, filters, Change.objects.filter(scope.customer_q()))
    entries = list(queryset.filter(position__gt=position).order_by("position")[:limit])
    if len(entries) == limit:
        return entries, entries[-1].position
    return entries, max(position, last_given, entries[-1].position if entries else 0)


def changes_since(
    *, position: int = 0, limit: int = 100, filters=None, scope: AreaScope = AreaScope.ALL
) -> list[Change]:
    """Up to ``limit`` changes after ``position``, in commit order (the feed, for the shell:
    every area unless ``scope`` says otherwise)."""
    return change_feed_page(position=position, limit=limit, filters=filters, scope=scope)[0]

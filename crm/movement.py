"""Pipeline movement: why an area's pipeline moved between two days (docs/forecast.md, "Pipeline movement").

Each touched deal's state at ``from`` and at ``to`` is rebuilt from the change history,
backwards from its current row: undoing the entries written after a moment gives the row as
it was then. Only the entries written since the start of ``from`` are read (one range of the
``at`` index, as plain tuples), with the current rows of the deals they touch (one query: a
semi-join of that same range on the primary key, so no list of keys travels to the database)
and their customers; a deal no entry touched is the same at both ends and moves nothing. The pipeline
at ``to`` is the current pipeline (the forecast's own aggregate) corrected by the deals
changed after ``to``; the pipeline at ``from`` is that minus the buckets, so the identity
``start + sum(buckets) = end`` holds by construction, and the tests check it against the
forecast computed at each end.

Every measure is exact until the very end: counts are integers, the unweighted revenue has two
places, and the weighted pipeline (revenue x probability x months / 100) four. Each figure is
then rounded half up to the cent; the rounding remainder of an area, at most a few cents, goes
to its largest bucket, so the rounded figures add up exactly too.

A caller's scope (crm/scopes.py) gives the areas answered: the pipeline aggregate and the
actuals name only those, and the touched deals' customers are read only in them, so a deal
of another area counts nowhere. Each area row is the ALL answer's row for that area (its
measures depend on that area's deals alone) and the total is the sum of the scope's rows.
A deal that moved between an area of the scope and one outside it counts, in the scope's
area, as leaving or arriving (its whole value), as the ALL answer's row of that area does;
with ``detail`` its state at the outside end is withheld (null), as for a deal that did not
exist there.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db.models import Min
from django.utils import timezone

from .choices import CLOSED_STATUSES, DEFAULT_PROBABILITY, FIXED_PROBABILITY, Area, Status, fiscal_year_bounds
from .forecast import ZERO, _actuals, _pipeline, money, months_after, scope_areas, today
from .models import Change, Customer, Opportunity
from .report_cache import report_cached
from .scopes import AreaScope

MEASURES = ("open_count", "open_mrr", "weighted_pipeline")
# Decided in this order: a deal falls in the first that applies.
BUCKETS = ("new", "deleted", "won", "lost", "slipped", "pulled_in", "increased", "decreased", "unexplained")
TOTAL = "Total"
# Plain strings and sets, looked up once: the enum attributes are slow in a loop over 10k deals.
_AREAS = frozenset(str(area) for area in Area.values)
_WON, _LOST = str(Status.CLOSED_WON), str(Status.CLOSED_LOST)
_CLOSED = frozenset(str(status) for status in CLOSED_STATUSES)
_FIXED = {str(status): p for status, p in FIXED_PROBABILITY.items()}
_DEFAULT = {str(status): p for status, p in DEFAULT_PROBABILITY.items()}


class DealState(NamedTuple):
    """A deal's recorded columns at one moment (a tuple: 30k are built per 10k touched deals)."""

    cid: int
    opportunity_name: str
    status: str
    est_monthly_revenue: Decimal
    probability: int | None
    expected_close_date: datetime.date


# The recorded columns a state is made of, each with its parser from the history's JSON.
_PARSERS = {
    "cid": int,
    "opportunity_name": str,
    "status": str,
    "est_monthly_revenue": Decimal,
    "probability": lambda v: None if v is None else int(v),
    "expected_close_date": datetime.date.fromisoformat,
}


def _parse(name: str, value):
    if value is None and name != "probability":
        return None
    return _PARSERS[name](value)


_REQUIRED = tuple(name for name in _PARSERS if name != "probability")


def _state(values: dict | None) -> DealState | None:
    """The state a row's values make, or None when one is missing (the deal did not exist)."""
    if values is None or "probability" not in values:
        return None
    for name in _REQUIRED:
        if values.get(name) is None:
            return None
    return DealState(
        values["cid"],
        values["opportunity_name"],
        values["status"],
        values["est_monthly_revenue"],
        values["probability"],
        values["expected_close_date"],
    )


def effective_probability(state: DealState) -> int:
    """As crm.forecast.effective_probability, for one deal in Python."""
    fixed = _FIXED.get(state.status)
    if fixed is not None:
        return fixed
    if state.probability is not None:
        return state.probability
    return _DEFAULT.get(state.status, 0)


Values = tuple[int, Decimal, Decimal]
_NOTHING: Values = (0, ZERO, ZERO)


@dataclass
class _Period:
    fiscal_year: int
    start: datetime.date
    end: datetime.date
    # Per area: the latest month of actuals (first day), or None.
    cutoff: dict[str, datetime.date | None]
    areas: dict[int, str]

    def place(self, state: DealState | None) -> tuple[str | None, Values]:
        """The area a deal counts in and its (open count, open revenue, weighted) there."""
        if state is None:
            return None, _NOTHING
        area = self.areas.get(state.cid)
        if area not in _AREAS:
            return None, _NOTHING
        close = state.expected_close_date
        if not self.start <= close <= self.end or state.status == _LOST:
            return area, _NOTHING
        month = close.replace(day=1)
        last = self.cutoff.get(area)
        if last is not None and month <= last:
            return area, _NOTHING
        is_open = state.status not in _CLOSED
        weighted = state.est_monthly_revenue * effective_probability(state) * months_after(month) / 100
        return area, (int(is_open), state.est_monthly_revenue if is_open else ZERO, weighted)


@dataclass
class DealMovement:
    oid: str
    bucket: str
    before: DealState | None
    after: DealState | None
    area_before: str | None
    area_after: str | None
    values_before: Values
    values_after: Values


@dataclass
class AreaMovement:
    area: str
    start: dict[str, Decimal | int]
    buckets: dict[str, dict[str, Decimal | int]]
    end: dict[str, Decimal | int]
    deals: dict[str, list[DealMovement]] = field(default_factory=dict)


@dataclass
class Movement:
    fiscal_year: int
    date_from: datetime.date
    date_to: datetime.date
    areas: list[AreaMovement]
    total: AreaMovement


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def history_first_day() -> datetime.date:
    """The first day a movement can start on: the day of the history's first entry (today when empty)."""
    first = Change.objects.aggregate(first=Min("at"))["first"]
    return today() if first is None else timezone.localdate(first)


def _rebuild(entries: list, current: dict | None, window_end: datetime.datetime):
    """(state at the window's start, state at its end, explained) for one deal.

    ``entries``: the deal's entries since the window's start, oldest first. Walking back from
    the current row, each entry is undone; an entry whose new values are not what the row held
    (or a row updated after its last entry) means a write the history missed.
    """
    explained = True
    state = None if current is None else dict(current)
    if current is not None and entries and current["updated_at"] > entries[-1].at:
        explained = False
    at_end = None
    reached_end = False
    for entry in reversed(entries):
        if not reached_end and entry.at < window_end:
            at_end, reached_end = state, True
        changes = {name: pair for name, pair in entry.changes.items() if name in _PARSERS}
        if entry.action == Change.Action.DELETED:
            explained &= state is None
            state = {name: _parse(name, old) for name, (old, _new) in changes.items()}
            continue
        if state is None:
            explained = False
        # A copy: the state at the window's end may be this very dict.
        state = dict(state or {})
        for name, (old, new) in changes.items():
            explained &= state.get(name) == _parse(name, new)
            state[name] = _parse(name, old)
        if entry.action == Change.Action.CREATED:
            state = None
    if not reached_end:
        at_end = state
    return _state(state), _state(at_end), explained


def _bucket(before: DealState | None, after: DealState | None, period: _Period) -> str:
    if before is None:
        return "new"
    if after is None:
        return "deleted"
    if after.status != before.status and after.status == _WON:
        return "won"
    if after.status != before.status and after.status == _LOST:
        return "lost"
    d0, d1 = before.expected_close_date, after.expected_close_date
    in0, in1 = period.start <= d0 <= period.end, period.start <= d1 <= period.end
    if (in0 and not in1) or (in0 and in1 and d1 > d0):
        return "slipped"
    if (not in0 and in1) or (in0 and in1 and d1 < d0):
        return "pulled_in"
    # increased or decreased: decided per area by the sign of the deal's change there.
    return _CHANGED


_CHANGED = "changed"


def _direction(v0: Values, v1: Values) -> str:
    """increased when the weighted value (then the revenue, then the count) did not go down."""
    return "increased" if (v1[2], v1[1], v1[0]) >= (v0[2], v0[1], v0[0]) else "decreased"


def _current_rows(touched) -> dict[str, dict]:
    """The current rows of the deals the entries ``touched`` (a queryset of their keys) name."""
    rows = {}
    for row in Opportunity.objects.filter(oid__in=touched).values(
        "oid",
        "customer_id",
        "opportunity_name",
        "status",
        "est_monthly_revenue",
        "probability",
        "expected_close_date",
        "updated_at",
    ):
        row["cid"] = row.pop("customer_id")
        rows[row.pop("oid")] = row
    return rows


def _round_area(area: str, start: dict, buckets: dict, end: dict) -> AreaMovement:
    start_r = {m: start[m] if m == "open_count" else money(start[m]) for m in MEASURES}
    end_r = {m: end[m] if m == "open_count" else money(end[m]) for m in MEASURES}
    buckets_r = {
        b: {m: v if m == "open_count" else money(v) for m, v in values.items()}
        for b, values in buckets.items()
    }
    for m in MEASURES[1:]:
        remainder = end_r[m] - start_r[m] - sum((buckets_r[b][m] for b in BUCKETS), ZERO)
        if remainder:
            largest = max(BUCKETS, key=lambda b: abs(buckets[b][m]))
            buckets_r[largest][m] += remainder
    return AreaMovement(area=area, start=start_r, buckets=buckets_r, end=end_r)


def _pipeline_now(start, end, cutoff, areas: list[str]) -> dict[str, list]:
    """Per area of ``areas``: [open count, open revenue, weighted (exact)] of the current pipeline."""
    now = {area: [0, ZERO, ZERO] for area in areas}
    for area, groups in _pipeline(start, end, areas).items():
        for group in groups:
            last = cutoff.get(area)
            if last is not None and group["close_month"] <= last:
                continue
            now[area][0] += group["open_count"]
            now[area][1] += group["open_mrr"] or ZERO
            now[area][2] += (group["weighted_x100"] or ZERO) * months_after(group["close_month"]) / 100
    return now


def movement_compute(
    *,
    fiscal_year: int,
    date_from: datetime.date,
    date_to: datetime.date,
    detail: bool = False,
    scope: AreaScope,
) -> Movement:
    if date_from > date_to:
        raise ValidationError({"to": [f"to ({date_to}) must not be before from ({date_from})."]})
    first = history_first_day()
    if date_from < first:
        raise ValidationError(
            {
                "from": [
                    ValidationError(
                        f"The change history starts on {first}: from must be {first} or later.",
                        code="invalid",
                    )
                ]
            }
        )
    start, end = fiscal_year_bounds(fiscal_year)
    window_start, window_end = _day_start(date_from), _day_start(date_to + datetime.timedelta(days=1))
    cut_day = min(max(date_to, start), end)
    areas_answered = scope_areas(scope)
    actuals = _actuals(start, cut_day, areas_answered)
    cutoff = {area: last.replace(day=1) for area, (_total, last, _rate) in actuals.items()}

    # The current pipeline, as the forecast aggregates it: the one query whose cost grows with
    # the number of deals, so it is cached as the forecast is (crm/report_cache.py).
    cached = report_cached(
        "movement_pipeline",
        (fiscal_year, cut_day),
        lambda: _pipeline_now(start, end, cutoff, areas_answered),
        scope=scope,
    )
    now = {area: list(values) for area, values in cached.items()}  # corrected below: a copy

    window = Change.objects.filter(entity=Change.Entity.OPPORTUNITY, at__gte=window_start)
    entries_by_oid: dict[str, list] = {}
    # A scope without areas counts no deal: its entries are not read.
    entries = window.order_by("id").values_list("key", "action", "changes", "at", named=True)
    for entry in entries if areas_answered else ():
        entries_by_oid.setdefault(entry.key, []).append(entry)
    # Rows of deals first touched after the entries were read are read too, and ignored below.
    current = _current_rows(window.values("key")) if entries_by_oid else {}
    rebuilt = {
        oid: _rebuild(entries, current.get(oid), window_end) for oid, entries in entries_by_oid.items()
    }
    cids = {row["cid"] for row in current.values()}
    cids |= {s.cid for before, after, _ in rebuilt.values() for s in (before, after) if s is not None}
    # Only the scope's customers: a deal of another area is in no area here.
    in_scope = Customer.objects.filter(scope.customer_q(), cid__in=sorted(cids))
    areas = dict(in_scope.values_list("cid", "area")) if cids else {}
    period = _Period(fiscal_year=fiscal_year, start=start, end=end, cutoff=cutoff, areas=areas)

    buckets = {area: {b: dict.fromkeys(MEASURES, ZERO) for b in BUCKETS} for area in areas_answered}
    for values in buckets.values():
        for b in BUCKETS:
            values[b]["open_count"] = 0
    deals: dict[str, dict[str, list[DealMovement]]] = {
        area: {b: [] for b in BUCKETS} for area in areas_answered
    }
    for oid in sorted(rebuilt):
        before, after, explained = rebuilt[oid]
        # The pipeline at ``to``: the current one with this deal as it was at ``to``.
        area_now, values_now = period.place(_state(current.get(oid)))
        area_after, values_after = period.place(after)
        for area, values, sign in ((area_now, values_now, -1), (area_after, values_after, 1)):
            if area is not None:
                for i in range(len(MEASURES)):
                    now[area][i] += sign * values[i]
        area_before, values_before = period.place(before)
        bucket = _bucket(before, after, period) if explained else "unexplained"
        if values_before == _NOTHING and values_after == _NOTHING:
            continue  # Outside the pipeline at both ends: it moved nothing.
        for area in {area_before, area_after} - {None}:
            v0 = values_before if area == area_before else _NOTHING
            v1 = values_after if area == area_after else _NOTHING
            if bucket == _CHANGED and v0 == v1:
                continue  # Changed, but not in anything the pipeline counts.
            in_area = _direction(v0, v1) if bucket == _CHANGED else bucket
            for i, m in enumerate(MEASURES):
                buckets[area][in_area][m] += v1[i] - v0[i]
            if scope.is_all:
                shown_before, shown_after = before, after
            else:
                # The end in no area of the scope is withheld: null, as a deal not there.
                shown_before = before if area_before is not None else None
                shown_after = after if area_after is not None else None
            deals[area][in_area].append(
                DealMovement(
                    oid,
                    in_area,
                    shown_before,
                    shown_after,
                    area_before,
                    area_after,
                    values_before,
                    values_after,
                )
            )

    rows = []
    for area in areas_answered:
        end_values = dict(zip(MEASURES, now[area], strict=True))
        start_values = {
            m: end_values[m] - sum((buckets[area][b][m] for b in BUCKETS), 0 if m == "open_count" else ZERO)
            for m in MEASURES
        }
        row = _round_area(area, start_values, buckets[area], end_values)
        if detail:
            row.deals = deals[area]
        rows.append(row)

    def total(part):
        return {m: sum((part(r)[m] for r in rows), 0 if m == "open_count" else ZERO) for m in MEASURES}

    total_row = AreaMovement(
        area=TOTAL,
        start=total(lambda r: r.start),
        buckets={b: total(lambda r, b=b: r.buckets[b]) for b in BUCKETS},
        end=total(lambda r: r.end),
    )
    return Movement(
        fiscal_year=fiscal_year, date_from=date_from, date_to=date_to, areas=rows, total=total_row
    )

"""Forecast snapshots: the forecast of a day, stored once per (fiscal year, day)."""

import dataclasses
import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..forecast import forecast_compute, forecast_period
from ..models import ForecastSnapshot
from ..scopes import AreaScope


@dataclasses.dataclass(frozen=True)
class SnapshotResult:
    fiscal_year: int
    as_of: datetime.date
    # False when that day's snapshot was already stored (nothing was replaced).
    created: bool
    rows: int


@transaction.atomic
def forecast_snapshot_take(
    *, fiscal_year: int | None = None, as_of: datetime.date | None = None
) -> SnapshotResult:
    """Store the forecast of ``as_of`` (every area row and the total) unless that day has one.

    Defaults as the forecast (crm.forecast.forecast_period). A snapshot is never replaced:
    the first one of a day stays, so a retried cron job cannot rewrite history. The unique
    constraint decides between two concurrent runs; the loser stores nothing. Always the
    forecast of every area (``AreaScope.ALL``): a caller's scope picks its rows when they
    are read (crm.selectors.forecast_snapshot_list).
    """
    fiscal_year, as_of = forecast_period(fiscal_year=fiscal_year, as_of=as_of)
    existing = ForecastSnapshot.objects.filter(fiscal_year=fiscal_year, as_of=as_of).count()
    if existing:
        return SnapshotResult(fiscal_year=fiscal_year, as_of=as_of, created=False, rows=existing)
    forecast = forecast_compute(fiscal_year=fiscal_year, as_of=as_of, scope=AreaScope.ALL)
    taken_at = timezone.now()
    rows = [
        ForecastSnapshot(
            fiscal_year=fiscal_year,
            as_of=as_of,
            position=position,
            taken_at=taken_at,
            **dataclasses.asdict(row),
        )
        for position, row in enumerate([*forecast.areas, forecast.total])
    ]
    try:
        with transaction.atomic():
            ForecastSnapshot.objects.bulk_create(rows)
    except IntegrityError:
        existing = ForecastSnapshot.objects.filter(fiscal_year=fiscal_year, as_of=as_of).count()
        return SnapshotResult(fiscal_year=fiscal_year, as_of=as_of, created=False, rows=existing)
    return SnapshotResult(fiscal_year=fiscal_year, as_of=as_of, created=True, rows=len(rows))

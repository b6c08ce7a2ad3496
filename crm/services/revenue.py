"""Revenue writes: a month's actual per area, a fiscal year's target per area (upserts).

Actuals are keyed by (area, month) and targets by (area, fiscal_year), as the unique keys
in docs/schema.sql say; ``id`` is the database's and never chosen by a caller.
"""

import datetime
from decimal import Decimal
from typing import Literal

from django.core.exceptions import ValidationError
from django.db import models, transaction

from ..choices import Area
from ..forecast import MAX_FISCAL_YEAR, MIN_FISCAL_YEAR
from ..models import RevenueActual, RevenueTarget
from ..report_cache import report_cache_invalidate
from .history import change_record, row_values
from .opportunities import vocabulary_message

UpsertAction = Literal["created", "updated", "unchanged"]


def amount_bounds(field: models.DecimalField) -> tuple[Decimal, Decimal]:
    """The largest value a DECIMAL(p, s) column holds, and its step: (999…9.99, 0.01)."""
    step = Decimal(1).scaleb(-field.decimal_places)
    return Decimal(10) ** (field.max_digits - field.decimal_places) - step, step


def amount_problem(value, *, field: models.DecimalField) -> ValidationError | None:
    """An amount of money for ``field``: a finite, non-negative decimal that fits the column."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        return ValidationError("A decimal number is required.", code="invalid")
    value = Decimal(value)
    largest, step = amount_bounds(field)
    if not value.is_finite():
        return ValidationError("A finite number is required.", code="invalid")
    if value < 0:
        return ValidationError("Must be 0 or more.", code="min_value")
    if value > largest:
        return ValidationError(f"Must be at most {largest}.", code="max_value")
    if value != value.quantize(step):
        return ValidationError(
            f"At most {field.decimal_places} decimal places are allowed.", code="max_decimal_places"
        )
    return None


def _area_problem(area) -> ValidationError | None:
    if area not in Area.values:
        return ValidationError(vocabulary_message(Area), code="invalid_choice")
    return None


def revenue_actual_validate(*, area: str, month: datetime.date, revenue: Decimal) -> dict:
    """Check the rules of one actual; return the values to store. All problems at once."""
    errors: dict[str, list[ValidationError]] = {}
    if problem := _area_problem(area):
        errors["area"] = [problem]
    if not isinstance(month, datetime.date) or isinstance(month, datetime.datetime):
        errors["month"] = [ValidationError("A valid date is required.", code="invalid")]
    elif month.day != 1:
        errors["month"] = [ValidationError("Must be the first day of a month.", code="not_first_of_month")]
    field = RevenueActual._meta.get_field("revenue")
    if problem := amount_problem(revenue, field=field):
        errors["revenue"] = [problem]
    if errors:
        raise ValidationError(errors)
    return {"area": area, "month": month, "revenue": Decimal(revenue).quantize(amount_bounds(field)[1])}


def revenue_target_validate(*, area: str, fiscal_year: int, target: Decimal) -> dict:
    """Check the rules of one target; return the values to store. All problems at once."""
    errors: dict[str, list[ValidationError]] = {}
    if problem := _area_problem(area):
        errors["area"] = [problem]
    if isinstance(fiscal_year, bool) or not isinstance(fiscal_year, int):
        errors["fiscal_year"] = [ValidationError("A valid integer is required.", code="invalid")]
    elif not MIN_FISCAL_YEAR <= fiscal_year <= MAX_FISCAL_YEAR:
        errors["fiscal_year"] = [
            ValidationError(f"Must be between {MIN_FISCAL_YEAR} and {MAX_FISCAL_YEAR}.", code="out_of_range")
        ]
    field = RevenueTarget._meta.get_field("target")
    if problem := amount_problem(target, field=field):
        errors["target"] = [problem]
    if errors:
        raise ValidationError(errors)
    return {
        "area": area,
        "fiscal_year": fiscal_year,
        "target": Decimal(target).quantize(amount_bounds(field)[1]),
    }


def _upsert(model, key: dict, column: str, value: Decimal) -> tuple[models.Model, UpsertAction]:
    # The row is locked (or, where none exists yet, the unique key makes a concurrent insert
    # fail), so the comparison is against what is stored now.
    current = model.objects.select_for_update().filter(**key).first()
    if current is None:
        row = model(**key, **{column: value})
        row.save(force_insert=True)
        change_record(instance=row, before=None)
        report_cache_invalidate()
        return row, "created"
    if getattr(current, column) == value:
        return current, "unchanged"
    before = row_values(current)
    setattr(current, column, value)
    current.save(update_fields=[column])
    change_record(instance=current, before=before)
    report_cache_invalidate()
    return current, "updated"


@transaction.atomic
def revenue_actual_upsert(
    *, area: str, month: datetime.date, revenue: Decimal
) -> tuple[RevenueActual, UpsertAction]:
    """Set the revenue of (area, month): created, updated or unchanged."""
    values = revenue_actual_validate(area=area, month=month, revenue=revenue)
    return _upsert(
        RevenueActual, {"area": values["area"], "month": values["month"]}, "revenue", values["revenue"]
    )


@transaction.atomic
def revenue_target_upsert(
    *, area: str, fiscal_year: int, target: Decimal
) -> tuple[RevenueTarget, UpsertAction]:
    """Set the target of (area, fiscal_year): created, updated or unchanged."""
    values = revenue_target_validate(area=area, fiscal_year=fiscal_year, target=target)
    return _upsert(
        RevenueTarget,
        {"area": values["area"], "fiscal_year": values["fiscal_year"]},
        "target",
        values["target"],
    )

"""The CRM vocabulary, defined once.

Every list of allowed values and every status default lives here; models, serializers,
filters, services, the forecast and the data-quality report import it from this module.

The columns in the existing database are plain VARCHARs, so rows written by other tools
(SQL, imports) may hold values outside this vocabulary. Reading such rows must never fail:
the choices below validate what *we* write, they are never enforced on read.
"""

import datetime
from decimal import Decimal

from django.db import models


class Area(models.TextChoices):
    FRANCE = "France"
    GERMANY = "Germany"
    SWITZERLAND = "Switzerland"
    NETHERLANDS = "Netherlands"
    # Spelt out: the label would otherwise be derived from the name, "Uk" (admin filters, schema).
    UK = "UK", "UK"


# An area grant of every area (crm.models.AreaGrant, crm.scopes): legacy spellings included.
ALL_AREAS = "all"


class Status(models.TextChoices):
    PROSPECTING = "Prospecting"
    QUALIFICATION = "Qualification"
    PROPOSAL = "Proposal"
    NEGOTIATION = "Negotiation"
    CLOSED_WON = "Closed Won"
    CLOSED_LOST = "Closed Lost"


class ForecastCategory(models.TextChoices):
    PIPELINE = "Pipeline"
    BEST_CASE = "Best Case"
    COMMIT = "Commit"
    CLOSED = "Closed"
    OMITTED = "Omitted"


class Product(models.TextChoices):
    ACCOUNTING = "Accounting"
    TIME_ENTRY = "Time Entry"
    PAYROLL = "Payroll"
    EXPENSES = "Expenses"


CLOSED_STATUSES = frozenset({Status.CLOSED_WON, Status.CLOSED_LOST})
OPEN_STATUSES = frozenset(Status) - CLOSED_STATUSES

# Win probability (percent) assumed when a deal does not state one.
DEFAULT_PROBABILITY: dict[str, int] = {
    Status.PROSPECTING: 10,
    Status.QUALIFICATION: 20,
    Status.PROPOSAL: 50,
    Status.NEGOTIATION: 75,
    Status.CLOSED_WON: 100,
    Status.CLOSED_LOST: 0,
}

DEFAULT_FORECAST_CATEGORY: dict[str, str] = {
    Status.PROSPECTING: ForecastCategory.PIPELINE,
    Status.QUALIFICATION: ForecastCategory.PIPELINE,
    Status.PROPOSAL: ForecastCategory.BEST_CASE,
    Status.NEGOTIATION: ForecastCategory.COMMIT,
    Status.CLOSED_WON: ForecastCategory.CLOSED,
    Status.CLOSED_LOST: ForecastCategory.OMITTED,
}

# Closed deals have a known outcome, so their probability and category are fixed:
# a won deal forecast at 60 % or a lost deal still in "Commit" would skew every roll-up.
FIXED_PROBABILITY: dict[str, int] = {Status.CLOSED_WON: 100, Status.CLOSED_LOST: 0}
FIXED_FORECAST_CATEGORY: dict[str, str] = {
    Status.CLOSED_WON: ForecastCategory.CLOSED,
    Status.CLOSED_LOST: ForecastCategory.OMITTED,
}

# est_monthly_revenue is DECIMAL(12,2): the largest value the column can hold.
MAX_MONTHLY_REVENUE = Decimal("9999999999.99")

# Fiscal years run July to June and are named by the calendar year they end in.
FISCAL_YEAR_START_MONTH = 7


def fiscal_year_of(day) -> int:
    """The fiscal year a date falls in: 2024-12-15 is in FY2025."""
    return day.year + 1 if day.month >= FISCAL_YEAR_START_MONTH else day.year


def fiscal_year_bounds(fiscal_year: int):
    """First and last day of a fiscal year: FY2025 is 2024-07-01 .. 2025-06-30."""
    return (
        datetime.date(fiscal_year - 1, FISCAL_YEAR_START_MONTH, 1),
        datetime.date(fiscal_year, FISCAL_YEAR_START_MONTH - 1, 30),
    )

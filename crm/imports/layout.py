"""The workbook's layout: one sheet (or CSV file) per CRM table, columns as in docs/schema.sql.

Everything here is derived from the models, so a column added to a model is a column of
the workbook: its name is the database column, its kind the model field's type.
"""

from dataclasses import dataclass
from functools import cached_property

from django.db import models

from ..models import Customer, Opportunity, RevenueActual, RevenueTarget

# Kinds of cell a column takes; crm.imports.cells turns a raw cell into the Python value.
TEXT, INTEGER, MONEY, DATE, BOOLEAN = "text", "integer", "money", "date", "boolean"


def _kind(field: models.Field) -> str:
    if isinstance(field, models.ForeignKey):
        return _kind(field.target_field)
    if isinstance(field, models.BooleanField):
        return BOOLEAN
    if isinstance(field, models.DecimalField):
        return MONEY
    if isinstance(field, models.DateTimeField):
        return TEXT  # only read-only timestamps; never parsed
    if isinstance(field, models.DateField):
        return DATE
    if isinstance(field, models.IntegerField):
        return INTEGER
    return TEXT


@dataclass(frozen=True)
class Table:
    model: type[models.Model]
    title: str  # the sheet's name in the original workbook
    key: tuple[str, ...]  # the columns a row is matched by

    @property
    def name(self) -> str:
        return self.model._meta.db_table

    @cached_property
    def fields(self) -> dict[str, models.Field]:
        """Column name -> model field, in the order of the table (docs/schema.sql)."""
        return {field.column: field for field in self.model._meta.concrete_fields}

    @cached_property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.fields)

    @cached_property
    def ignored(self) -> frozenset[str]:
        """Columns the database sets (ids, timestamps): exported, accepted on import, never written."""
        return frozenset(
            column
            for column, field in self.fields.items()
            if isinstance(field, models.AutoField) or (not field.editable and not field.primary_key)
        )

    @cached_property
    def required(self) -> frozenset[str]:
        """Columns the header must have: NOT NULL, no default, not set by the database."""
        return frozenset(
            column
            for column, field in self.fields.items()
            if column not in self.ignored
            and field.editable  # oid: generated for a new row, so the column is optional
            and not field.null
            and not field.has_default()
            and not field.has_db_default()
        )

    @cached_property
    def kinds(self) -> dict[str, str]:
        return {column: _kind(field) for column, field in self.fields.items()}

    @cached_property
    def defaulted(self) -> frozenset[str]:
        """Columns with a default: an empty cell there means "not given"."""
        return frozenset(c for c, f in self.fields.items() if f.has_default() or f.has_db_default())

    def kind(self, column: str) -> str:
        return self.kinds[column]

    def aliases(self) -> frozenset[str]:
        return frozenset({self.name.casefold(), self.title.casefold()})


CUSTOMERS = Table(Customer, "Customer", ("cid",))
OPPORTUNITIES = Table(Opportunity, "CRM Opportunities", ("oid",))
ACTUALS = Table(RevenueActual, "Revenue Actuals", ("area", "month"))
TARGETS = Table(RevenueTarget, "Revenue Targets", ("area", "fiscal_year"))
# In the order an import applies them: opportunities name customers.
TABLES = (CUSTOMERS, OPPORTUNITIES, ACTUALS, TARGETS)


def table_named(name: str) -> Table | None:
    """The table a sheet or CSV file name stands for: case and surrounding spaces ignored."""
    wanted = name.strip().casefold()
    return next((table for table in TABLES if wanted in table.aliases()), None)

"""Bulk writes: many rows of one table in a few statements, recorded as the row services record them.

For a caller that has already checked every row with the services' own rule functions
(customer_validate, opportunity_validate, revenue_actual_validate, ...) against the stored
rows it holds locked: the workbook import (crm/imports/engine.py), a chunk of rows at a time.
``rows_write`` does the INSERT and UPDATEs of that chunk and records each row in the change
history with the entry ``change_record`` would have written for it, in the caller's order
(one bulk INSERT of entries, crm.services.history.change_record_many).

They do not invalidate the report cache: the caller does that once, after its last chunk
(``report_cache_invalidate``), inside the same transaction. A database refusal (a row
inserted or deleted meanwhile by another writer: IntegrityError) is raised for the whole
call; the caller runs it in a savepoint and can fall back to the row services, which name
the row.
"""

from collections.abc import Sequence
from typing import Any

from django.db import connections, models, router, transaction
from django.db.models.expressions import DatabaseDefault

from .history import change_record_many

_PLAIN_FIELDS = (models.CharField, models.IntegerField, models.BooleanField)
_PLAIN_VALUES = (str, int, bool)
# Rows per UPDATE statement (a CASE per column over the batch's keys).
UPDATE_BATCH = 500


def rows_insert(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ``rows`` (each: field attname -> value, the same fields in every row) in one executemany.

    Below the ORM's bulk_create, which compiles every value of every row into one statement
    (most of the cost at 100,000 rows): the statement is built once and the values are only
    converted (``get_db_prep_save``, as the ORM does). A value that is an expression (Now())
    is taken from the first row, as SQL in the statement. On MySQL one multi-row INSERT of
    all the rows (the caller bounds them: a chunk); SQLite runs one prepared statement per
    row (an executemany), or one INSERT for one row.
    """
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    compiler = model.objects.none().query.get_compiler(connection=connection)
    fields = [model._meta.get_field(name) for name in rows[0]]
    columns, placeholders, converted = [], [], []
    for field, value in zip(fields, rows[0].values(), strict=True):
        columns.append(connection.ops.quote_name(field.column))
        if hasattr(value, "resolve_expression"):
            sql, params = compiler.compile(value.resolve_expression(compiler.query, allow_joins=False))
            if params:
                raise ValueError(f"{field.name}: an expression with parameters cannot be inserted in bulk")
            placeholders.append(sql)
        else:
            placeholders.append("%s")
            converted.append(field)
    names = [field.attname for field in converted]
    table = connection.ops.quote_name(model._meta.db_table)
    values = f"({', '.join(placeholders)})"
    # Quoted names and the SQL of the expressions above; every value is a parameter.
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608
    # A text, whole-number or boolean column takes a plain str, int or bool (or None) as it is,
    # as get_db_prep_save would give it back; every other value is converted by its field.
    plain = [isinstance(field, _PLAIN_FIELDS) and not field.is_relation for field in converted]
    columns_of_row = list(zip(converted, names, plain, strict=True))
    params = [
        [
            value
            if is_plain and (value is None or value.__class__ in _PLAIN_VALUES)
            else field.get_db_prep_save(value, connection)
            for field, name, is_plain in columns_of_row
            for value in (row[name],)
        ]
        for row in rows
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "mysql" or len(params) == 1:
            # One multi-row INSERT: MySQL's client batches an executemany only when every value
            # is a parameter, and runs it row by row otherwise (CURRENT_TIMESTAMP(6)).
            cursor.execute(statement + ", ".join([values] * len(params)), [p for row in params for p in row])
        else:
            cursor.executemany(statement + values, params)


def _insert_values(row: models.Model) -> dict[str, Any]:
    # Every concrete column the row has a value for; a database default (created_at) is left to it.
    return {
        field.attname: value
        for field in row._meta.concrete_fields
        if not isinstance(value := getattr(row, field.attname), DatabaseDefault)
        and not (field.primary_key and value is None)
    }


@transaction.atomic
def rows_write(
    *,
    writes: Sequence[tuple[models.Model, dict[str, Any] | None]],
    fields: Sequence[str] = (),
    natural_key: Sequence[str] = (),
) -> None:
    """Store rows of one model (values already checked) and record each in the change history.

    ``writes``: (row with its new values, ``row_values`` of the row as stored before, or None
    for a new row), in the order the entries are to be recorded. New rows are INSERTed in
    bulk (rows_insert); the others get ``fields`` UPDATEd in batches: every changed row gets
    every column of ``fields`` written, the ones it does not change with the value it has,
    which the caller read under the row's lock. ``natural_key``: the unique columns that
    find a new row whose id the database chose (revenue rows).
    """
    if not writes:
        return
    model = type(writes[0][0])
    created = [row for row, before in writes if before is None]
    updated = [row for row, before in writes if before is not None]
    if created:
        rows_insert(model, [_insert_values(row) for row in created])
        _read_back_ids(model, [row for row in created if row.pk is None], natural_key)
    if updated:
        model.objects.bulk_update(updated, list(fields), batch_size=UPDATE_BATCH)
    change_record_many(writes=writes)


def _read_back_ids(model: type[models.Model], rows: list[models.Model], natural_key: Sequence[str]) -> None:
    if not rows:
        return
    if not natural_key:
        raise ValueError(f"{model.__name__}: the database gave no ids and no natural_key finds them")
    lookup = {f"{column}__in": {getattr(row, column) for row in rows} for column in natural_key}
    ids = {
        tuple(found[:-1]): found[-1]
        for found in model.objects.filter(**lookup).values_list(*natural_key, "pk")
    }
    for row in rows:
        row.pk = ids[tuple(getattr(row, column) for column in natural_key)]

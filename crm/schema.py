"""Creating and checking the four legacy tables.

The service never alters an existing schema: creation is only for an empty database (a
first local run, a test database). On MySQL the tables come from docs/schema.sql, the same
DDL a real database has; elsewhere (SQLite) from the models.
"""

from pathlib import Path

from django.conf import settings
from django.db import connection as default_connection

from .models import LEGACY_MODELS

SCHEMA_SQL = Path(settings.BASE_DIR) / "docs" / "schema.sql"
LEGACY_TABLES = tuple(model._meta.db_table for model in LEGACY_MODELS)


def existing_legacy_tables(connection=default_connection) -> list[str]:
    present = set(connection.introspection.table_names())
    return [table for table in LEGACY_TABLES if table in present]


def missing_legacy_tables(connection=default_connection) -> list[str]:
    present = set(existing_legacy_tables(connection))
    return [table for table in LEGACY_TABLES if table not in present]


def schema_sql_statements() -> list[str]:
    lines = [
        line
        for line in SCHEMA_SQL.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("--")
    ]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


class TablesExist(Exception):
    pass


def create_legacy_tables(connection=default_connection) -> None:
    """Create the four tables; refuse, changing nothing, if any of them exists."""
    existing = existing_legacy_tables(connection)
    if existing:
        raise TablesExist(
            f"refusing to create tables: {', '.join(existing)} already exist "
            "(this command only initialises an empty database)"
        )
    if connection.vendor == "mysql":
        # MySQL commits each CREATE TABLE implicitly, so a transaction would not help here;
        # the check above is what keeps a real schema safe.
        with connection.cursor() as cursor:
            for statement in schema_sql_statements():
                cursor.execute(statement)
    else:
        # The schema editor runs all four CREATE TABLEs in one transaction where the backend can.
        with connection.schema_editor() as editor:
            for model in LEGACY_MODELS:
                editor.create_model(model)

"""The models map docs/schema.sql exactly, and table creation never touches an existing schema."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, models

from crm.models import LEGACY_MODELS
from crm.schema import LEGACY_TABLES, schema_sql_statements

pytestmark = pytest.mark.django_db

# Database column types grouped into families a Django field must belong to.
FAMILY_BY_DB_TYPE = {
    "int": "integer",
    "smallint": "integer",
    "tinyint": "integer",
    "bigint": "integer",
    "varchar": "string",
    "char": "string",
    "date": "date",
    "datetime": "datetime",
    "decimal": "decimal",
}
FAMILY_BY_FIELD = {
    models.IntegerField: "integer",
    models.SmallIntegerField: "integer",
    models.PositiveSmallIntegerField: "integer",
    models.AutoField: "integer",
    models.BooleanField: "integer",  # TINYINT(1)
    models.ForeignKey: "integer",
    models.CharField: "string",
    models.DateTimeField: "datetime",
    models.DateField: "date",
    models.DecimalField: "decimal",
}


def _family(field) -> str:
    for cls in type(field).__mro__:
        if cls in FAMILY_BY_FIELD:
            return FAMILY_BY_FIELD[cls]
    raise AssertionError(f"no type family for {field!r}")


def _mysql_columns(table: str) -> dict[str, dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, is_nullable, character_maximum_length, "
            "numeric_precision, numeric_scale, column_key, column_type "
            "FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = %s",
            [table],
        )
        return {
            row[0]: {
                "data_type": row[1].lower(),
                "nullable": row[2] == "YES",
                "max_length": row[3],
                "precision": row[4],
                "scale": row[5],
                "primary": row[6] == "PRI",
                "column_type": row[7].lower(),
            }
            for row in cursor.fetchall()
        }


@pytest.mark.mysql
@pytest.mark.parametrize("model", LEGACY_MODELS, ids=lambda m: m._meta.db_table)
def test_every_model_field_matches_its_mysql_column(model):
    """Name, type family, nullability, length, decimal digits and primary key agree with the DDL."""
    columns = _mysql_columns(model._meta.db_table)
    fields = model._meta.concrete_fields
    assert sorted(f.column for f in fields) == sorted(columns)
    for field in fields:
        column = columns[field.column]
        where = f"{model._meta.db_table}.{field.column}"
        assert FAMILY_BY_DB_TYPE[column["data_type"]] == _family(field), where
        assert column["nullable"] == field.null, where
        assert column["primary"] == field.primary_key, where
        if isinstance(field, models.CharField):
            assert column["max_length"] == field.max_length, where
        if isinstance(field, models.DecimalField):
            assert (column["precision"], column["scale"]) == (field.max_digits, field.decimal_places), where
        if isinstance(field, models.BooleanField):
            assert column["column_type"] == "tinyint(1)", where


@pytest.mark.mysql
def test_mysql_tables_are_innodb_utf8mb4_with_the_restricting_foreign_key():
    """The tables come from docs/schema.sql: InnoDB, utf8mb4, and cid restricts customer deletes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, engine, table_collation FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name IN %s",
            [LEGACY_TABLES],
        )
        tables = {name: (engine, collation) for name, engine, collation in cursor.fetchall()}
        cursor.execute(
            "SELECT delete_rule, referenced_table_name FROM information_schema.referential_constraints "
            "WHERE constraint_schema = DATABASE() AND table_name = 'crm_opportunities'"
        )
        foreign_keys = cursor.fetchall()
    assert sorted(tables) == sorted(LEGACY_TABLES)
    assert all(
        engine == "InnoDB" and collation.startswith("utf8mb4") for engine, collation in tables.values()
    )
    assert foreign_keys == (("RESTRICT", "customer"),)


def test_schema_sql_defines_the_four_tables():
    """docs/schema.sql holds one CREATE TABLE per legacy table and nothing else."""
    statements = schema_sql_statements()
    created = [s.split()[2] for s in statements if s.upper().startswith("CREATE TABLE")]
    assert created == list(LEGACY_TABLES)
    assert len(statements) == len(LEGACY_TABLES)


def test_create_crm_tables_refuses_when_tables_exist():
    """On a database that already has the tables, the command errors out and changes nothing."""
    before = sorted(connection.introspection.table_names())
    with pytest.raises(CommandError, match="already exist"):
        call_command("create_crm_tables")
    assert sorted(connection.introspection.table_names()) == before


def test_create_crm_tables_if_missing_is_quiet_when_all_exist(capsys):
    """--if-missing (used by `make run`) accepts an initialised database."""
    call_command("create_crm_tables", "--if-missing")
    assert "already exist" in capsys.readouterr().out

"""Join order on MySQL: what the optimizer gets wrong for the opportunity lists, said once.

Joined to ``customer`` and ordered by an opportunity column, MySQL (and MariaDB) drive the
join from the smaller ``customer`` table and then sort every opportunity, so a page of 50
costs as much as the whole table. ``STRAIGHT_JOIN`` (valid on MySQL 8 and MariaDB alike)
makes the opportunities the first table: the close-date index delivers the order and each
row's customer is one primary-key lookup.
"""

from django.db import connections
from django.db.models import QuerySet


def keeps_first_table(queryset: QuerySet) -> bool:
    """Whether ``queryset`` should run with STRAIGHT_JOIN: MySQL, a join, an order by its own columns."""
    query = queryset.query
    tables = [alias for alias in query.alias_map if query.alias_refcount[alias]]
    return (
        connections[queryset.db].vendor == "mysql"
        and len(tables) > 1
        and all("__" not in str(term) for term in query.order_by)
    )


def sql_of(queryset: QuerySet, *, first_table: bool = False) -> tuple[str, tuple]:
    """The SQL ``queryset`` runs, with STRAIGHT_JOIN where ``keeps_first_table`` says so, or on
    MySQL always with ``first_table`` (a semi-join, ``cid IN (SELECT ...)``, that MySQL would
    otherwise drive from the subquery's table and sort).

    Raises EmptyResultSet for a query that cannot match (``cid__in=[]``).
    """
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    mysql = connections[queryset.db].vendor == "mysql"
    if keeps_first_table(queryset) or (first_table and mysql):
        sql = "SELECT STRAIGHT_JOIN" + sql[len("SELECT") :]
    return sql, params

"""Join order on MySQL: what the optimizer gets wrong for the opportunity lists, said once.

Joined to ``customer`` and ordered by an opportunity column, MySQL (and MariaDB) drive the
join from the smaller ``customer`` table and then sort every opportunity, so a page of 50
costs as much as the whole table. ``STRAIGHT_JOIN`` (valid on MySQL 8 and MariaDB alike)
makes the opportunities the first table: the close-date index delivers the order and each
row's customer is one primary-key lookup.

Such pages run as raw SQL; ``PageSQL`` keeps the SQL of cursor pages, compiled once per shape,
and ``CompiledLookup`` the SQL of a lookup by key that every request makes (the API token, a
create's customer).
"""

import dataclasses
import weakref
from collections.abc import Callable, Hashable, Sequence

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.models import Model, QuerySet
from django.db.models.lookups import Exact
from django.db.models.sql.compiler import SQLCompiler
from django.db.models.sql.where import AND, WhereNode


def keeps_first_table(queryset: QuerySet) -> bool:
    """Whether ``queryset`` should run with STRAIGHT_JOIN: MySQL, a join, an order by its own columns."""
    query = queryset.query
    tables = [alias for alias in query.alias_map if query.alias_refcount[alias]]
    return (
        connections[queryset.db].vendor == "mysql"
        and len(tables) > 1
        and all("__" not in str(term) for term in query.order_by)
    )


def sql_of(queryset: QuerySet, *, first_table: bool = False, scan: bool = False) -> tuple[str, tuple]:
    """The SQL ``queryset`` runs, with STRAIGHT_JOIN where ``keeps_first_table`` says so, or on
    MySQL always with ``first_table`` (a semi-join, ``cid IN (SELECT ...)``, that MySQL would
    otherwise drive from the subquery's table and sort); and on MySQL through the cid index
    when it reads one customer's opportunities (``_one_customer``).

    With ``scan``, on MySQL the rows are read by a scan of the table and sorted, not in the
    order of the close-date index (``IGNORE INDEX FOR ORDER BY``): for a condition that may
    match anywhere (a substring of a name), which the walk in index order would look up row
    by row to the end of the table when few rows match (4.4 s at 1M rows, against 0.3 s).

    Raises EmptyResultSet for a query that cannot match (``cid__in=[]``).
    """
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    connection = connections[queryset.db]
    mysql = connection.vendor == "mysql"
    if keeps_first_table(queryset) or (first_table and mysql):
        sql = "SELECT STRAIGHT_JOIN" + sql[len("SELECT") :]
    table = f"FROM {connection.ops.quote_name(queryset.model._meta.db_table)} "
    if mysql and _one_customer(queryset.query):
        hint = f"FORCE INDEX ({connection.ops.quote_name(OPPORTUNITY_CID_INDEX)}) "
        sql = sql.replace(table, table + hint, 1)
    elif mysql and scan:
        hint = f"IGNORE INDEX FOR ORDER BY ({connection.ops.quote_name(OPPORTUNITY_CLOSE_DATE_INDEX)}) "
        sql = sql.replace(table, table + hint, 1)
    return sql, params


# The indexes on crm_opportunities.cid and expected_close_date, as the table has them
# (docs/schema.sql; not ours to change).
OPPORTUNITY_CID_INDEX = "idx_opportunities_cid"
OPPORTUNITY_CLOSE_DATE_INDEX = "idx_opportunities_expected_close_date"


def _one_customer(query) -> bool:
    """Whether ``query`` reads opportunities of one customer: ``cid = value`` among the
    conditions its WHERE requires (ANDed, not negated), on the opportunities themselves.

    Asked for one customer's deals in close-date order, MySQL and MariaDB weigh the customer's
    rows (the cid index, then a sort) against walking the close-date index until enough of
    them turn up, and take the walk once the customer has a few thousand deals. The walk
    costs as many row reads as there are deals of other customers before the page, up to the
    whole table: 1.3 s for a page of 50 at 1M rows, for a customer with 6 000 deals dated
    late. Through the cid index a page costs the customer's deals, at any table size.
    """
    from .models import Opportunity

    if query.model is not Opportunity:
        return False
    customer = Opportunity._meta.get_field("customer")
    nodes = [query.where]
    while nodes:
        node = nodes.pop()
        if getattr(node, "negated", False):
            continue
        if isinstance(node, WhereNode):
            if node.connector == AND:
                nodes.extend(node.children)
            continue
        lhs = getattr(node, "lhs", None)
        if (
            isinstance(node, Exact)
            and getattr(lhs, "target", None) is customer
            and lhs.alias == query.base_table
        ):
            return True
    return False


class PageSQL:
    """The SQL of cursor pages, compiled once per query shape and run with each page's position.

    Building and compiling a page's queryset (its filters, the caller's scope, the keyset
    condition, STRAIGHT_JOIN) costs about half of what running it costs with the table in
    memory (0.6-0.8 ms of CPU against 1.5-2.5 ms). All of that SQL but the position is fixed by
    the page's *shape*: the database alias, the path and filters (the cursor's own identity),
    the caller's areas, the direction and the page size. Only pure values decide it (the
    filters' vocabularies and parsed values), nothing read from the database, so a shape is
    compiled once per process and a page runs that SQL with its position's parameters
    (``crm.cursors.after_params``), which the keyset condition puts last.

    The first compilation of a shape checks that its parameters end with the position's: if
    they do not, nothing is kept and the shape is compiled on every page. A shape whose page
    the ORM runs itself (no join to keep first, SQLite) is fetched with the ORM every time.
    """

    # Shapes kept per process; past that the table starts again (a shape costs one compilation).
    KEPT = 1024

    def __init__(self):
        self._plans: dict[Hashable, tuple[str, tuple] | None] = {}

    def rows(self, shape: Hashable, page: Callable[[], QuerySet], position: Sequence) -> list[tuple]:
        """The rows of ``page()`` (a sliced values_list queryset) as tuples.

        ``shape[0]`` is the database alias; ``position`` the parameters of the page's position.
        """
        plan = self._plans.get(shape, False)
        if plan is None:
            return list(page())
        if plan is not False:
            sql, fixed = plan
            return _fetch(shape[0], sql, (*fixed, *position))
        queryset = page()
        if not needs_hints(queryset):
            self._keep(shape, None)
            return list(queryset)

        def keep(sql, params):
            cut = len(params) - len(position)
            if cut >= 0 and params[cut:] == tuple(position):
                self._keep(shape, (sql, params[:cut]))

        return rows_of(queryset, compiled=keep)

    def _keep(self, shape: Hashable, plan) -> None:
        if len(self._plans) >= self.KEPT:
            self._plans.clear()
        self._plans[shape] = plan


def needs_hints(queryset: QuerySet, *, scan: bool = False) -> bool:
    """Whether ``queryset`` runs better as ``sql_of`` makes it than as the ORM writes it: a join
    to keep first (``keeps_first_table``), or on MySQL one customer's rows or a scan."""
    if keeps_first_table(queryset):
        return True
    return connections[queryset.db].vendor == "mysql" and (scan or _one_customer(queryset.query))


def rows_of(
    queryset: QuerySet, *, compiled: Callable[[str, tuple], None] | None = None, scan: bool = False
) -> list[tuple]:
    """The rows of a values_list ``queryset``: as raw SQL where ``needs_hints`` says so
    (``compiled(sql, params)`` is told what runs), else by the ORM."""
    if not needs_hints(queryset, scan=scan):
        return list(queryset)
    try:
        sql, params = sql_of(queryset, scan=scan)
    except EmptyResultSet:
        # A query that cannot match (a caller granted no area): no rows, as the ORM answers.
        return []
    if compiled is not None:
        compiled(sql, tuple(params))
    return _fetch(queryset.db, sql, params)


def objects_of(queryset: QuerySet, *, scan: bool = False) -> list[Model]:
    """``rows_of`` for a queryset of model instances: raw SQL where ``needs_hints`` says so."""
    if not needs_hints(queryset, scan=scan):
        return list(queryset)
    try:
        sql, params = sql_of(queryset, scan=scan)
    except EmptyResultSet:
        return []
    return list(queryset.model._default_manager.using(queryset.db).raw(sql, params))


def _fetch(alias: str, sql: str, params: Sequence) -> list[tuple]:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


@dataclasses.dataclass(frozen=True)
class _Instances:
    """How one model instance (and what it selects related) is built from a row, as the ORM does."""

    model: type[Model]
    columns: tuple[int, ...]
    attnames: tuple[str, ...]
    related: tuple[tuple["_Instances", Callable, Callable], ...]  # (built, local_setter, remote_setter)

    @classmethod
    def of(cls, compiler: SQLCompiler, klass_info: dict) -> "_Instances":
        columns = tuple(klass_info["select_fields"])
        related = tuple(
            (cls.of(compiler, info), info["local_setter"], info["remote_setter"])
            for info in klass_info.get("related_klass_infos", ())
        )
        attnames = tuple(compiler.select[column][0].target.attname for column in columns)
        return cls(klass_info["model"], columns, attnames, related)

    def build(self, alias: str, row: Sequence) -> Model | None:
        values = [row[column] for column in self.columns]
        if values[self.attnames.index(self.model._meta.pk.attname)] is None:
            return None  # a related row that is not there (a LEFT JOIN's NULLs)
        instance = self.model.from_db(alias, self.attnames, values)
        for related, local_setter, remote_setter in self.related:
            related_instance = related.build(alias, row)
            local_setter(instance, related_instance)
            if related_instance is not None:
                remote_setter(related_instance, instance)
        return instance


@dataclasses.dataclass(frozen=True)
class _LookupPlan:
    compiler: SQLCompiler
    sql: str
    fixed: tuple
    converters: dict
    instances: _Instances
    annotations: tuple[tuple[str, int], ...]


_EMPTY = "empty"  # a lookup that cannot match (a scope granting no area)


class CompiledLookup:
    """The one instance a queryset matches by a key, from SQL compiled once per shape.

    The ORM builds and compiles a lookup's queryset on every call: for a lookup by primary
    key that every request makes (the API token with its user, a create's customer) that is
    0.4-0.6 ms of CPU where the query takes 0.15-0.25 ms. ``get(shape, build, key)`` compiles
    ``build(key)`` once per ``shape`` and connection (a compiler holds its connection), then
    runs that SQL with each call's key and builds the instances as the ORM would: the
    converters of every column, ``select_related`` instances, annotations.

    ``shape`` names everything but the key that decides the SQL (a caller's scope, say). The
    key must be the query's last parameter: the first call compiles ``build`` with both
    ``placeholders`` and keeps the plan only if nothing else differs; otherwise every call
    runs the ORM. The answer is None when no row or more than one matches.
    """

    def __init__(self, model: type[Model]):
        self.model = model
        self._plans: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get(
        self, shape: Hashable, build: Callable[[object], QuerySet], key, *, placeholders: tuple
    ) -> Model | None:
        alias = router.db_for_read(self.model) or DEFAULT_DB_ALIAS
        connection = connections[alias]
        plans = self._plans.setdefault(connection, {})
        if shape not in plans:
            plans[shape] = self._compile(build, connection, placeholders)
        plan = plans[shape]
        if plan is None:
            rows = list(build(key)[:2])
            return rows[0] if len(rows) == 1 else None
        if plan is _EMPTY:
            return None
        rows = _fetch(alias, plan.sql, (*plan.fixed, key))
        if len(rows) != 1:
            return None
        (row,) = plan.compiler.apply_converters(rows, plan.converters)
        instance = plan.instances.build(alias, row)
        for name, column in plan.annotations:
            setattr(instance, name, row[column])
        return instance

    @staticmethod
    def _compile(build: Callable[[object], QuerySet], connection, placeholders: tuple):
        compiled = []
        try:
            for placeholder in placeholders:
                compiler = build(placeholder).query.get_compiler(connection=connection)
                sql, params = compiler.as_sql()
                compiled.append((compiler, sql, tuple(params)))
        except EmptyResultSet:
            return _EMPTY
        (compiler, sql, params), (_, other_sql, other_params) = compiled
        same = sql == other_sql and params[:-1] == other_params[:-1]
        if not same or (params[-1:], other_params[-1:]) != ((placeholders[0],), (placeholders[1],)):
            return None
        return _LookupPlan(
            compiler=compiler,
            sql=sql,
            fixed=params[:-1],
            converters=compiler.get_converters([column for column, _, _ in compiler.select]),
            instances=_Instances.of(compiler, compiler.klass_info),
            annotations=tuple(compiler.annotation_col_map.items()),
        )

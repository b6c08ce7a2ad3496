"""Keyset cursors for the lists' ``page_size`` pages.

A page is "the rows after this position" in an order an index delivers (one indexed NOT NULL
column, then the primary key, all in one direction), so the database reads the page and no
more at any depth: ``a >= x AND (a > x OR pk > y) ORDER BY a, pk LIMIT n + 1``. The
``a >= x`` bound is there for the optimizer: it makes the OR a range on the index.

The cursor is opaque to clients: the position of a page's first or last row, the direction,
and the identity of the query (path, filters and ordering), signed with the SECRET_KEY. An
altered cursor fails the signature; a cursor used with other filters or another ordering
fails the identity check; both are a 400 naming ``cursor``, never a wrong page.

A walk sees every row that exists throughout it exactly once, whatever is inserted or deleted
meanwhile, because a row's place in the order is its own sort key, not a count of the rows
before it. A row whose sort key changes during the walk (an opportunity's close date moved)
may be seen twice or not at all; ``ordering=oid`` never changes.
"""

import datetime
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

_SALT = "crm.cursors"


@dataclass(frozen=True)
class Cursor:
    position: tuple
    backward: bool


def query_identity(path: str, params: list[tuple[str, str]]) -> str:
    """A short digest of what a cursor is bound to."""
    return hashlib.sha256(json.dumps([path, params]).encode()).hexdigest()[:16]


def cursor_encode(position: list, *, backward: bool, query: str) -> str:
    return signing.dumps({"p": position, "b": backward, "q": query}, salt=_SALT, compress=True)


def _cursor_error(message: str) -> ValidationError:
    return ValidationError({"cursor": [ValidationError(message, code="invalid")]})


def cursor_decode(text: str, *, query: str) -> Cursor:
    try:
        data = signing.loads(text, salt=_SALT)
    except signing.BadSignature:
        raise _cursor_error(
            "Not a cursor this API issued: take it unchanged from a next or previous link."
        ) from None
    if data.get("q") != query:
        raise _cursor_error(
            "This cursor belongs to another query: use it with the filters and ordering of the page "
            "it came from."
        )
    return Cursor(position=tuple(data["p"]), backward=bool(data["b"]))


def _keyset_columns(model) -> list[str]:
    pk = model._meta.pk
    indexed = [
        field.column
        for field in model._meta.concrete_fields
        if field is not pk and not field.null and (field.db_index or field.unique or field.is_relation)
    ]
    return [*indexed, pk.column]


def keyset_of(queryset: QuerySet) -> list[tuple]:
    """The (field, descending) terms of the queryset's order; a 400 naming ``ordering`` if no index has it."""
    model = queryset.model
    ordering = queryset.query.order_by or (model._meta.ordering if queryset.query.default_ordering else ())
    terms = []
    for term in ordering:
        name = term.lstrip("-") if isinstance(term, str) else None
        field = _forward_field(model, name) if name and "__" not in name else None
        if field is None:
            terms = None
            break
        terms.append((field, term.startswith("-")))
    pk = model._meta.pk
    ok = (
        terms
        and len({desc for _, desc in terms}) == 1
        and terms[-1][0] is pk
        and (len(terms) == 1 or (len(terms) == 2 and terms[0][0].column in _keyset_columns(model)))
    )
    if not ok:
        columns = ", ".join(_keyset_columns(model))
        raise ValidationError(
            {
                "ordering": [
                    ValidationError(
                        f"Cursor pages follow an index: order by one of {columns}, with {pk.column} after "
                        f"it in the same direction (e.g. '-{terms[0][0].column if terms else pk.column}"
                        f",-{pk.column}'), or page with limit/offset.",
                        code="invalid",
                    )
                ]
            }
        )
    return terms


def _forward_field(model, name: str):
    try:
        field = model._meta.get_field(name)
    except Exception:
        return None
    return field if getattr(field, "concrete", False) else None


def _jsonable(value):
    return value.isoformat() if isinstance(value, datetime.date) else value


def position_of(row, keys: list[tuple]) -> list:
    return [_jsonable(getattr(row, field.attname)) for field, _ in keys]


def tuple_position(columns) -> Callable[[tuple, list[tuple]], list]:
    """``position_of`` for rows fetched as tuples of ``columns`` (attnames or lookups)."""
    at = {column: n for n, column in enumerate(columns)}

    def position(row: tuple, keys: list[tuple]) -> list:
        return [_jsonable(row[at[field.attname]]) for field, _ in keys]

    return position


def _position_values(keys: list[tuple], cursor: Cursor) -> list:
    if len(cursor.position) != len(keys):
        raise _cursor_error("This cursor belongs to another query: use it with the ordering it came from.")
    try:
        return [field.to_python(value) for (field, _), value in zip(keys, cursor.position, strict=True)]
    except ValidationError:
        raise _cursor_error("Not a cursor this API issued.") from None


def after_params(keys: list[tuple], cursor: Cursor | None, connection) -> list:
    """The query parameters ``after`` adds for ``cursor``, in their order in the compiled SQL
    (``a >= x``, ``a > x``, ``pk > y``), as the ORM prepares them for ``connection``.

    For SQL compiled once and run with each page's position (crm.sql.PageSQL), which checks
    these against the parameters the ORM produced before it relies on them.
    """
    if cursor is None:
        return []
    values = _position_values(keys, cursor)
    prepared = [
        field.get_db_prep_value(value, connection, prepared=False)
        for (field, _), value in zip(keys, values, strict=True)
    ]
    return [prepared[0], prepared[0], prepared[1]] if len(keys) > 1 else prepared


def after(queryset: QuerySet, keys: list[tuple], cursor: Cursor | None) -> QuerySet:
    """``queryset`` from the cursor's position on, in the direction it walks (reversed going back)."""
    if cursor is None:
        return queryset
    values = _position_values(keys, cursor)
    descending = keys[0][1]
    op = "lt" if descending != cursor.backward else "gt"
    (first, _), *rest = keys
    if rest:
        (pk, _) = rest[0]
        condition = Q(**{f"{first.attname}__{op}e": values[0]}) & (
            Q(**{f"{first.attname}__{op}": values[0]}) | Q(**{f"{pk.attname}__{op}": values[1]})
        )
    else:
        condition = Q(**{f"{first.attname}__{op}": values[0]})
    queryset = queryset.filter(condition)
    if cursor.backward:
        queryset = queryset.order_by(*[("" if desc else "-") + field.attname for field, desc in keys])
    return queryset

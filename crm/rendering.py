"""Fast JSON for large lists: the list endpoints run at about the speed of the database.

A DRF serializer costs several microseconds per field; at 100k customers that is seconds.
Instead the list runs the queryset's own SQL (built by the FilterSet, so filters and
ordering are the same), turns each chunk of row tuples into dicts in one comprehension and
encodes the chunk with orjson. Chunks keep peak memory near twice the response size: only
the encoded chunks and the joined body are alive at the end, never every row as objects.

Django's per-row converters are bypassed on purpose (on SQLite they parse every date and
boolean); each endpoint's row function does the few conversions JSON needs, and a test
checks that its output equals the serializer's.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import orjson
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet
from rest_framework.renderers import JSONRenderer

# Small chunks: as fast as large ones, and the rows of one chunk as objects stay small
# next to the response even for short lists.
CHUNK_ROWS = 250


class PreEncodedJSONRenderer(JSONRenderer):
    """DRF's JSON renderer that passes bytes built by ``encode_rows`` through untouched."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return super().render(data, accepted_media_type, renderer_context)


@contextmanager
def _streaming_cursor(connection) -> Iterator:
    """A cursor that hands rows over as they arrive.

    MySQLdb's default cursor converts the whole result set to Python tuples before the
    first fetch, several times the size of the JSON; its server-side ``SSCursor`` streams
    them. The driver cursor is opened as an ``SSCursor`` on its own (the connection's
    default cursor class is left alone) and wrapped the way ``connection.cursor()`` wraps
    every cursor, so queries are logged, counted in tests, pass execute wrappers and have
    their errors translated.
    """
    if connection.vendor != "mysql":
        with connection.cursor() as cursor:
            yield cursor
        return
    from django.db.backends.mysql.base import CursorWrapper as MySQLCursorWrapper
    from MySQLdb.cursors import SSCursor

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = MySQLCursorWrapper(connection.connection.cursor(SSCursor))
    cursor = connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
    with cursor:
        yield cursor


def encode_rows(
    queryset: QuerySet,
    columns: Sequence[str],
    rows_to_dicts: Callable[[list[tuple]], list[dict]],
    *,
    chunk_rows: int = CHUNK_ROWS,
) -> bytes:
    """A JSON array of ``queryset``'s rows, one SQL query.

    ``rows_to_dicts`` receives tuples in the order of ``columns``.
    """
    values = queryset.values_list(*columns)
    try:
        sql, params = values.query.get_compiler(using=values.db).as_sql()
    except EmptyResultSet:
        return b"[]"
    parts: list = [b"["]
    with _streaming_cursor(connections[values.db]) as cursor:
        cursor.execute(sql, params)
        # Django adds columns of its own in some queries (DISTINCT with ordering); the row
        # function would then label values wrongly, so refuse rather than mislabel.
        if len(cursor.description) != len(columns):
            raise ValueError("encode_rows: the query selects other columns than expected")
        while rows := cursor.fetchmany(chunk_rows):
            if len(parts) > 1:
                parts.append(b",")
            # Copied without its brackets: orjson's own buffer is over-allocated (up to twice
            # the text), and 50 such buffers alive at once would double the peak.
            parts.append(memoryview(orjson.dumps(rows_to_dicts(rows)))[1:-1].tobytes())
    parts.append(b"]")
    return b"".join(parts)

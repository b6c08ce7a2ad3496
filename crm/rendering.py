"""Fast JSON for large lists: the list endpoints run at about the speed of the database.

A DRF serializer costs several microseconds per field; at 100k customers that is seconds.
Instead the list runs the queryset's own SQL (built by the FilterSet, so filters and
ordering are the same), turns each chunk of row tuples into dicts in one comprehension and
encodes the chunk with orjson. Only one chunk of rows exists as objects at a time: a
streamed response (the opportunity list) holds one chunk in memory whatever the number of
rows; a joined body (the customer list) holds the encoded chunks and the body.

Django's per-row converters are bypassed on purpose (on SQLite they parse every date and
boolean); each endpoint's row function does the few conversions JSON needs, and a test
checks that its output equals the serializer's.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager

import orjson
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from rest_framework.renderers import JSONRenderer

from . import cursors
from .sql import sql_of

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


def stream_rows(
    queryset: QuerySet,
    columns: Sequence[str],
    rows_to_dicts: Callable[[list[tuple]], list[dict]],
    *,
    chunk_rows: int = CHUNK_ROWS,
    rows_to_json: Callable[[list[tuple]], bytes] | None = None,
) -> Iterator[bytes]:
    """A JSON array of ``queryset``'s rows as an iterator of chunks; one SQL query.

    The query runs before this returns, so a database that is down is still an error
    response (503), not a truncated body; the rows are then fetched, converted and encoded
    one chunk at a time as the iterator is consumed: memory holds one chunk, whatever the
    number of rows. ``rows_to_dicts`` receives tuples in the order of ``columns``.

    On MySQL the result stays pending on the connection until the iterator is consumed: no
    other query may use the connection before that (a server sends the body before the
    thread's next request; a test must read it first). ``stream_walk`` has no such limit.
    """
    chunks = row_chunks(queryset, columns, chunk_rows=chunk_rows)
    return _json_array(map(_encoder(rows_to_dicts, rows_to_json), chunks))


def row_chunks(
    queryset: QuerySet, columns: Sequence[str], *, chunk_rows: int = CHUNK_ROWS, converted: bool = False
) -> Iterator[list[tuple]]:
    """``queryset``'s rows as tuples of ``columns``, a list of ``chunk_rows`` at a time, from one
    query streamed as it arrives (``stream_rows``; the query runs before this returns).

    The values are the driver's, unless ``converted``: then as the ORM gives them (Django's
    converters: a Decimal with its places, an aware datetime), for a file that must read the
    same on every backend.
    """
    values = queryset.values_list(*columns)
    try:
        sql, params = sql_of(values)
    except EmptyResultSet:
        return iter([])
    cleanup = ExitStack()
    try:
        cursor = cleanup.enter_context(_streaming_cursor(connections[values.db]))
        cursor.execute(sql, params)
        # Django adds columns of its own in some queries (DISTINCT with ordering); the row
        # function would then label values wrongly, so refuse rather than mislabel.
        if len(cursor.description) != len(columns):
            raise ValueError("row_chunks: the query selects other columns than expected")
    except BaseException:
        cleanup.close()
        raise
    return _fetched(cursor, chunk_rows, cleanup, _converter(values) if converted else None)


def _fetched(cursor, chunk_rows: int, cleanup: ExitStack, convert) -> Iterator[list[tuple]]:
    with cleanup:
        while rows := cursor.fetchmany(chunk_rows):
            yield convert(rows) if convert else rows


def _converter(values: QuerySet) -> Callable[[list[tuple]], list[tuple]]:
    # The compiler's own conversion of fetched rows, as the ORM applies it after a query.
    compiler = values.query.get_compiler(using=values.db)
    compiler.as_sql()
    return lambda rows: list(compiler.results_iter(results=[rows], tuple_expected=True))


def _encoder(rows_to_dicts, rows_to_json) -> Callable[[list[tuple]], bytes]:
    # ``rows_to_json``: a faster way to the same bytes as encoding ``rows_to_dicts``'s output.
    return rows_to_json or (lambda rows: orjson.dumps(rows_to_dicts(rows)))


def _json_array(encoded: Iterator[bytes]) -> Iterator[bytes]:
    # Encoded chunks are arrays; without their brackets they join into one array.
    yield b"["
    separator = b""
    for chunk in encoded:
        yield separator + chunk[1:-1]
        separator = b","
    yield b"]"


# Rows per query of a walk in index order: big enough that the queries' own cost vanishes
# next to the rows', small enough that one chunk is a few hundred kilobytes of JSON.
WALK_ROWS = 2000


def stream_walk(
    queryset: QuerySet,
    columns: Sequence[str],
    rows_to_dicts: Callable[[list[tuple]], list[dict]],
    *,
    chunk_rows: int = WALK_ROWS,
    rows_to_json: Callable[[list[tuple]], bytes] | None = None,
) -> Iterator[bytes]:
    """Like ``stream_rows``, for a queryset ordered along an index: walked in keyset chunks
    (``walk_chunks``). A queryset no index orders (a 400 from ``keyset_of``) raises that
    ValidationError; callers fall back to ``stream_rows``."""
    chunks = walk_chunks(queryset, columns, chunk_rows=chunk_rows)
    return _json_array(map(_encoder(rows_to_dicts, rows_to_json), chunks))


def walk_chunks(
    queryset: QuerySet, columns: Sequence[str], *, chunk_rows: int = WALK_ROWS, converted: bool = False
) -> Iterator[list[tuple]]:
    """``row_chunks`` for a queryset ordered along an index, walked in keyset chunks.

    Each chunk is one complete query for "the next rows after the last one sent" (the cursor
    pages' keyset, ``crm.cursors``), so nothing stays pending on the connection between
    chunks: the request's other queries, and the next request on this connection, may run
    while the body is still being sent. Every query reads its chunk from the index and no
    more; memory holds one chunk. The first chunk is read before this returns, so a failing
    database is an error response. ``columns`` must include the order's fields; a queryset no
    index orders raises the ValidationError of ``keyset_of`` (a 400 naming ``ordering``).
    ``converted``: as ``row_chunks``'s (each position is read before the conversion).
    """
    keys = cursors.keyset_of(queryset)
    values = queryset.values_list(*columns)
    positions = [list(columns).index(field.attname) for field, _ in keys]
    convert = _converter(values) if converted else None
    first = _fetch(values[:chunk_rows])

    # The first chunk is the generator's argument, not a name it closes over, so it is let go
    # once sent instead of living as long as the stream.
    def chunks(rows) -> Iterator[list[tuple]]:
        while rows:
            position = tuple(rows[-1][i] for i in positions)
            yield convert(rows) if convert else rows
            if len(rows) < chunk_rows:
                break
            # Let the chunk sent go before the next one is read: never two chunks of rows at once.
            rows = None
            rows = _fetch(cursors.after(values, keys, cursors.Cursor(position, backward=False))[:chunk_rows])

    return chunks(first)


def _fetch(values: QuerySet) -> list[tuple]:
    try:
        sql, params = sql_of(values)
    except EmptyResultSet:
        return []
    with connections[values.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def encode_rows(
    queryset: QuerySet,
    columns: Sequence[str],
    rows_to_dicts: Callable[[list[tuple]], list[dict]],
    *,
    chunk_rows: int = CHUNK_ROWS,
) -> bytes:
    """``stream_rows`` joined into one body, for a response that must know its length."""
    return b"".join(stream_rows(queryset, columns, rows_to_dicts, chunk_rows=chunk_rows))


class JSONStream(StreamingHttpResponse):
    """A JSON body sent chunk by chunk as ``stream_rows`` produces it.

    ``content`` joins the chunks, for readers that want the whole body at once (the test
    client's ``json()``); a server never asks for it and streams.
    """

    def __init__(self, chunks: Iterator[bytes], **kwargs):
        super().__init__(chunks, content_type="application/json", **kwargs)

    @property
    def content(self) -> bytes:
        body = b"".join(self.streaming_content)
        self.streaming_content = [body]
        return body

    @property
    def text(self) -> str:
        return self.content.decode(self.charset)

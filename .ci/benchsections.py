"""The benchmark's sections, run inside Django by ``.ci/bench.py`` (its child process).

Each section times requests to the service against a floor measured in the same run: the
raw SQL for the same rows or numbers (plus the encoding, where the service encodes), or a
bare DRF view doing the same single query or insert with token authentication. Figures are
the fastest of ``repeat`` timed runs after one warm-up (the least disturbed by other load).

Adding a section: a function ``(bench: Bench) -> None`` that calls ``bench.add(...)``, listed
in SECTIONS. A figure that cannot be measured on this code (an endpoint or parameter not
there yet) is printed as "not available" with the reason, never left out.
"""

from __future__ import annotations

import datetime
import gc
import http.client
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from unittest import mock

import orjson
from django.core.cache import caches
from django.db import connection
from django.test import Client, override_settings
from django.urls import include, path
from rest_framework import serializers
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.models import Change, ChangeSequence, Customer, Opportunity
from crm.rendering import WALK_ROWS
from crm.scopes import AreaScope
from crm.selectors import opportunity_list
from crm.services import EDITORS_GROUP, READERS_GROUP, api_user_ensure, opportunity_create, opportunity_update
from crm.views.opportunities import opportunity_chunks

FISCAL_YEAR, AS_OF = 2025, "2024-12-15"
FY_START, FY_END = "2024-07-01", "2025-06-30"
PAGE = 50
# A figure whose first run takes longer than this is reported from that one run.
SLOW_SECONDS = 10
# A figure whose first run is faster than this is timed in batches of calls.
BATCH_BELOW_SECONDS = 0.05
# The unpaged list's peak memory is measured over at most this many rows.
MEMORY_ROWS = 100_000
OPPORTUNITY_COLUMNS = [f.column for f in Opportunity._meta.concrete_fields]
CUSTOMER_COLUMNS = [f.column for f in Customer._meta.concrete_fields]
# The columns an opportunity answer carries: its own, then its customer's name and area.
SELECT = ", ".join([f"o.{c}" for c in OPPORTUNITY_COLUMNS] + ["c.customer_name", "c.area"])


@dataclass
class Result:
    section: str
    label: str
    seconds: float | None
    floor_seconds: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.floor_seconds if self.seconds and self.floor_seconds else None


@dataclass
class Bench:
    backend: str
    customers: int
    opportunities: int
    port: int
    repeat: int
    creates: int
    batch_seconds: float
    results: list[Result] = field(default_factory=list)
    section: str = ""
    failure: str = ""
    failures: dict[int, str] = field(default_factory=dict)  # of the last in_turn, by position

    def __post_init__(self):
        _, self.reader_token = api_user_ensure(
            username="bench-reader", group=READERS_GROUP, areas=AreaScope.ALL
        )
        _, self.editor_token = api_user_ensure(
            username="bench-editor", group=EDITORS_GROUP, areas=AreaScope.ALL
        )
        # A reader granted one area: every request of theirs carries the scope's condition.
        _, france_token = api_user_ensure(
            username="bench-reader-france", group=READERS_GROUP, areas=AreaScope.of(["France"])
        )
        # A 503 (database read timeout) is an answer to report, not an exception to stop at.
        self.reader = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {self.reader_token}")
        self.france_reader = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {france_token}")
        self.editor = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {self.editor_token}")

    @property
    def mysql(self) -> bool:
        return connection.vendor == "mysql"

    def best_of(self, fn: Callable[[], object], *, before: Callable | None = None) -> float | None:
        """Fastest of ``repeat`` runs after a warm-up; ``before`` runs untimed before each.

        None when the warm-up fails (an error, a timeout, a 503): the figure is then printed
        as not available with the reason, and the other figures still run.
        """
        (seconds,) = self.in_turn(fn, before=before)
        self.failure = self.failures.get(0, self.failure)
        return seconds

    def in_turn(self, *fns: Callable[[], object], before: Callable | None = None) -> list[float | None]:
        """``best_of`` for a floor and the figures measured against it, their batches in turn.

        The shared machine's speed drifts by 20-40 % within seconds; timed one after the
        other, a floor and its figure can land on either side of a drift. Here each of the
        ``repeat`` rounds times one batch of every function, so each ratio compares batches
        taken moments apart; each figure is still the fastest of its batches. A function whose
        warm-up fails is None (``failures`` says why) and the others are measured.

        Milliseconds (no ``before``): a batch is back-to-back calls lasting ``batch_seconds``
        (as timeit's autorange sizes one), timed as their mean. One call timed after a full
        collection measures cold CPU caches and timer noise, 1.5-2x what a server answering
        one request after another spends, floor and service alike. Longer figures, and any
        with ``before``, are one call after a collection; past SLOW_SECONDS the warm-up alone
        (another run says nothing new and costs minutes).
        """
        warm_ups: list[float | None] = []
        self.failures = {}
        for index, fn in enumerate(fns):
            try:
                if before:
                    before()
                start = time.perf_counter()
                fn()
                warm_ups.append(time.perf_counter() - start)
            except Exception as exc:  # reported in the table, never hidden
                self.failures[index] = f"{type(exc).__name__}: {str(exc)[:160]}"
                # A timed-out query leaves the connection broken: the next figure starts on a new one.
                connection.close_if_unusable_or_obsolete()
                warm_ups.append(None)
        best = [warm_up if warm_up is not None and warm_up > SLOW_SECONDS else None for warm_up in warm_ups]
        for _ in range(self.repeat):
            for index, (fn, warm_up) in enumerate(zip(fns, warm_ups, strict=True)):
                if warm_up is None or warm_up > SLOW_SECONDS:
                    continue
                number = 1
                if before is None and warm_up < BATCH_BELOW_SECONDS:
                    number = max(1, round(self.batch_seconds / max(warm_up, 1e-6)))
                else:
                    if before:
                        before()
                    gc.collect()
                start = time.perf_counter()
                for _ in range(number):
                    fn()
                seconds = (time.perf_counter() - start) / number
                best[index] = seconds if best[index] is None else min(best[index], seconds)
        return best

    def add(
        self,
        label: str,
        seconds: float | None,
        floor: float | None = None,
        note: str = "",
        *,
        failure: str = "",
    ) -> None:
        if seconds is None and not note.startswith("not available"):
            note = f"not available: {failure or self.failure}" + (f" ({note})" if note else "")
        self.results.append(Result(self.section, label, seconds, floor, note))

    def measured(self, label: str, text: str) -> None:
        """A figure that is not a time (a peak memory): printed as its note."""
        self.results.append(Result(self.section, label, None, None, text))

    def unavailable(self, label: str, why: str) -> None:
        self.add(label, None, note=f"not available: {why}")

    def sql(self, query: str, params=()) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall()

    def get(self, client: Client, url: str, expect: int = 200):
        response = client.get(url)
        if response.status_code != expect:
            raise RuntimeError(f"GET {url.split('?')[0]} answered {response.status_code}")
        return response

    def http_get(self, url: str) -> tuple[int, int]:
        """Status and body size of GET url from gunicorn, read to the end."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            conn.request("GET", url, headers={"Authorization": f"Token {self.reader_token}"})
            response = conn.getresponse()
            size = 0
            while chunk := response.read(1 << 16):
                size += len(chunk)
            return response.status, size
        finally:
            conn.close()


def per(seconds: float | None, count: int) -> float | None:
    return None if seconds is None else seconds / count


def _rows_as_json(cursor) -> bytes:
    # Decimals as strings, as the API writes them.
    columns = [col[0] for col in cursor.description]
    return orjson.dumps([dict(zip(columns, row, strict=True)) for row in cursor.fetchall()], default=str)


def _floor_query(query: str, params=()) -> Callable[[], bytes]:
    def run() -> bytes:
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            return _rows_as_json(cursor)

    return run


# --- Customers ------------------------------------------------------------------------------
class PlainCustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = "__all__"


def customers_section(bench: Bench) -> None:
    """GET /api/customers against a raw fetch + orjson, over HTTP too, and a plain ModelSerializer."""
    select = f"SELECT {', '.join(CUSTOMER_COLUMNS)} FROM customer ORDER BY cid"
    floor = bench.best_of(_floor_query(select))
    n = bench.customers
    bench.add("floor: raw SQL + dicts + orjson", floor, note=f"{n} rows")
    bench.add(
        "GET /api/customers, Django test client",
        bench.best_of(lambda: bench.get(bench.reader, "/api/customers").content),
        floor,
    )
    bench.add(
        "GET /api/customers, HTTP (gunicorn, loopback)",
        bench.best_of(lambda: bench.http_get("/api/customers")),
        floor,
    )
    bench.add(
        "reference: plain DRF ModelSerializer",
        bench.best_of(
            lambda: JSONRenderer().render(PlainCustomerSerializer(Customer.objects.all(), many=True).data)
        ),
        floor,
    )
    gc.collect()
    tracemalloc.start()
    size = len(bench.get(bench.reader, "/api/customers").content)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    bench.measured(
        "peak memory of one list request",
        f"{peak / 2**20:.1f} MiB = {peak / size:.2f}x the {size / 2**20:.1f} MiB response",
    )


# --- Pages of opportunities -----------------------------------------------------------------
def _cursor_pages_available(bench: Bench) -> str | None:
    """None when ?page_size= answers a cursor page; else why not."""
    response = bench.reader.get("/api/opportunities?page_size=1")
    if response.status_code != 200:
        return f"?page_size= answers {response.status_code} (cursor pages not on this branch)"
    body = response.json()
    if not isinstance(body, dict) or "next" not in body or "results" not in body:
        return "?page_size= does not answer a cursor page (not on this branch)"
    return None


def _boundary(depth: int) -> tuple:
    """(expected_close_date, oid) of the row at position ``depth`` in the default order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT expected_close_date, oid FROM crm_opportunities "
            "ORDER BY expected_close_date, oid LIMIT 1 OFFSET %s",
            [depth - 1],
        )
        return cursor.fetchone()


def _page_floor(bench: Bench, where: str = "", params=(), *, after: tuple | None = None) -> Callable:
    return _floor_query(*_page_sql(bench, where, params, after=after))


def _page_sql(bench: Bench, where: str = "", params=(), *, after: tuple | None = None) -> tuple[str, list]:
    """The fastest SQL we know for one page of 50 in the default order, with the customer columns.

    Opportunities are taken from the close-date index first, then joined to their customers:
    the join runs for 50 rows, not for the table.
    """
    keyset = ""
    params = list(params)
    if after:
        keyset = ("AND " if where else "WHERE ") + (
            "o.expected_close_date >= %s AND (o.expected_close_date > %s OR o.oid > %s)"
        )
        params += [after[0], after[0], after[1]]
    if "c." in where:
        # A customer filter: walk the date index and look each customer up by its key.
        hint = "STRAIGHT_JOIN" if bench.mysql else ""
        index = "FORCE INDEX (idx_opportunities_expected_close_date)" if bench.mysql else ""
        query = (
            f"SELECT {hint} {SELECT} FROM crm_opportunities o {index} JOIN customer c ON c.cid = o.cid "
            f"{where} {keyset} ORDER BY o.expected_close_date, o.oid LIMIT {PAGE}"
        )
    else:
        # One customer's deals: its rows by the cid index, then sorted (crm.sql._one_customer).
        index = "FORCE INDEX (idx_opportunities_cid)" if bench.mysql and "o.cid" in where else ""
        query = (
            f"SELECT {SELECT} FROM (SELECT * FROM crm_opportunities o {index} {where} {keyset} "
            f"ORDER BY o.expected_close_date, o.oid LIMIT {PAGE}) o JOIN customer c ON c.cid = o.cid "
            "ORDER BY o.expected_close_date, o.oid"
        )
    return query, params


def _cursor_at(position: tuple) -> str:
    """The URL of the cursor page that starts after ``position`` in the default order.

    The cursor is the one the API's ``next`` link carries there (``crm.cursors``, signed and
    bound to the unfiltered list). Walking 900 000 rows to reach it took 900 requests of
    1000 rows, minutes at 1M that measure nothing of the page; the walk to the end is
    checked by the cursor tests on both backends.
    """
    from crm import cursors

    identity = cursors.query_identity("/api/opportunities", [])
    # A date from MySQL, ISO text from SQLite's raw rows.
    day = position[0] if isinstance(position[0], str) else position[0].isoformat()
    cursor = cursors.cursor_encode([day, position[1]], backward=False, query=identity)
    return f"/api/opportunities?page_size={PAGE}&cursor={cursor}"


FILTERS = [
    # (label, API query, SQL condition, SQL params)
    ("area=France", "area=France", "WHERE c.area = %s", ["France"]),
    ("status=Proposal", "status=Proposal", "WHERE o.status = %s", ["Proposal"]),
    ("product=Payroll", "product=Payroll", "WHERE o.product = %s", ["Payroll"]),
    ("cid=1 (the largest customer)", "cid=1", "WHERE o.cid = %s", [1]),
    (
        "close date in January 2025",
        "expected_close_date_from=2025-01-01&expected_close_date_to=2025-01-31",
        "WHERE o.expected_close_date BETWEEN %s AND %s",
        ["2025-01-01", "2025-01-31"],
    ),
]


def pages_section(bench: Bench) -> None:
    """A page of 50: first page and deep, unfiltered and with each filter, against the raw SQL.

    Each cursor page is timed in turn with its floor (``Bench.in_turn``); the first and the
    deep page also with a bare DRF view serving the same SQL (DRF's token authentication, its
    JSON renderer), which shows what the framework alone costs beside the raw SQL.
    """
    cursor_missing = _cursor_pages_available(bench)
    depth = max(PAGE, min(900_000, bench.opportunities * 9 // 10))
    after = _boundary(depth)

    def page(url: str, client: Client | None = None) -> Callable[[], object]:
        return lambda: bench.get(client or bench.reader, url)

    def in_turn(floor_label: str, floor: Callable, figures: list[tuple[str, Callable, str]]) -> float | None:
        # figures: (label, fn, note); the floor is printed first, each figure against it.
        floor_seconds, *seconds = bench.in_turn(floor, *(fn for _, fn, _ in figures))
        bench.add(floor_label, floor_seconds, failure=bench.failures.get(0, ""))
        for index, ((label, _, note), figure) in enumerate(zip(figures, seconds, strict=True), start=1):
            bench.add(label, figure, floor_seconds, note, failure=bench.failures.get(index, ""))
        return floor_seconds

    def with_bare(label: str, url: str, sql: tuple, bare_label: str) -> list[tuple[str, Callable, str]]:
        # The cursor page, and a bare DRF view serving the same SQL: what of the ratio to the
        # raw SQL is the framework's own per-request cost, whatever the service does.
        if cursor_missing:
            return []
        _BARE_PAGES.append(sql)
        bare = page(f"/bare/pages/{len(_BARE_PAGES) - 1}")
        return [(label, page(url), ""), (bare_label, bare, "")]

    def in_turn_with_bare(floor_label: str, sql: tuple[str, list], figures: list) -> float | None:
        with override_settings(ROOT_URLCONF=__name__):
            floor_seconds, *seconds = bench.in_turn(_floor_query(*sql), *(fn for _, fn, _ in figures))
        bench.add(floor_label, floor_seconds, failure=bench.failures.get(0, ""))
        if figures:
            (label, _, _), (bare_label, _, _) = figures
            service, bare = seconds
            note = f"{service / bare:.2f}x the bare view" if service and bare else ""
            bench.add(label, service, floor_seconds, note, failure=bench.failures.get(1, ""))
            bench.add(bare_label, bare, floor_seconds, failure=bench.failures.get(2, ""))
        return floor_seconds

    first = f"/api/opportunities?page_size={PAGE}"
    sql = _page_sql(bench)
    bare_label = "reference: bare DRF view (token auth), same SQL"
    figures = with_bare("GET ?page_size=50 (first page, cursor)", first, sql, f"{bare_label}, first page")
    floor = in_turn_with_bare("floor: raw SQL, first page of 50", sql, figures)
    bench.add(
        "GET ?limit=50 (first page, limit/offset)",
        bench.best_of(page(f"/api/opportunities?limit={PAGE}")),
        floor,
    )
    if cursor_missing:
        bench.unavailable("GET ?page_size=50 (first page, cursor)", cursor_missing)

    deep_label = f"GET ?page_size=50&cursor=... at depth {depth}"
    sql = _page_sql(bench, after=after)
    figures = with_bare(deep_label, _cursor_at(after), sql, f"{bare_label}, depth {depth}")
    deep_floor = in_turn_with_bare(f"floor: raw SQL, page of 50 at depth {depth}", sql, figures)
    # A 400 here is the offset cap pointing to the cursor; the table says so.
    seconds = bench.best_of(page(f"/api/opportunities?limit={PAGE}&offset={depth}"))
    bench.add(f"GET ?limit=50&offset={depth}", seconds, deep_floor)
    if cursor_missing:
        bench.unavailable(deep_label, cursor_missing)

    for label, query, where, params in FILTERS:
        size = f"page_size={PAGE}" if not cursor_missing else f"limit={PAGE}"
        url = f"/api/opportunities?{query}&{size}"
        figures = [(f"GET {label}, first 50", page(url), f"?{query}&{size}")]
        if label == "area=France" and not cursor_missing:
            # The same rows through the scope instead of the filter: the same plan, the same cost.
            scoped = page(f"/api/opportunities?page_size={PAGE}", bench.france_reader)
            figures.append(("GET first 50, France-only reader (area scope)", scoped, f"?{size}"))
        in_turn(f"floor: raw SQL, {label}, first 50", _page_floor(bench, where, params), figures)


# --- The unpaged list -------------------------------------------------------------------------
def list_section(bench: Bench) -> None:
    """GET /api/opportunities without paging: time against a raw fetch + encode, and peak memory."""
    query = (
        f"SELECT {SELECT} FROM crm_opportunities o JOIN customer c ON c.cid = o.cid "
        "ORDER BY o.expected_close_date, o.oid"
    )

    def floor_run() -> int:
        # Fetched and encoded a chunk at a time, as a streamed answer would be.
        size = 0
        with connection.cursor() as cursor:
            cursor.execute(query)
            columns = [col[0] for col in cursor.description]
            while rows := cursor.fetchmany(WALK_ROWS):
                size += len(orjson.dumps([dict(zip(columns, row, strict=True)) for row in rows], default=str))
        return size

    repeat, bench.repeat = bench.repeat, 1
    try:
        floor = bench.best_of(floor_run)
        bench.add(f"floor: raw fetch + encode, all {bench.opportunities} rows", floor)
        outcome: dict = {}

        def over_http():
            start = time.perf_counter()
            try:
                status, outcome["size"] = bench.http_get("/api/opportunities")
            except (OSError, http.client.HTTPException) as exc:
                status = f"no answer ({type(exc).__name__})"
            if status != 200:
                took = time.perf_counter() - start
                raise RuntimeError(f"answered {status} after {took:.1f}s (past gunicorn's worker timeout?)")

        seconds = bench.best_of(over_http)
        size = f"{outcome['size'] / 2**20:.1f} MiB" if seconds is not None else ""
        bench.add("GET /api/opportunities (unpaged), HTTP", seconds, floor, size)

        def in_process():
            response = bench.get(bench.reader, "/api/opportunities")
            for _ in response.streaming_content:
                pass

        bench.add(
            "GET /api/opportunities (unpaged), in-process (no worker timeout)",
            bench.best_of(in_process),
            floor,
        )
    finally:
        bench.repeat = repeat

    # Peak memory over at most the first MEMORY_ROWS rows (tracemalloc slows every allocation;
    # a flat profile shows at that size as at any other).
    url, rows = "/api/opportunities", bench.opportunities
    if rows > MEMORY_ROWS:
        url, rows = f"{url}?expected_close_date_to={_boundary(MEMORY_ROWS)[0]}", MEMORY_ROWS
    chunk_peak = _peak_from_first_query(lambda: _first_chunk(_unpaged_stream()))
    peak = _peak_from_first_query(lambda: _read_streamed(bench, url))
    bench.measured(
        "peak memory of the unpaged list (test client)",
        f"{peak / 2**20:.1f} MiB = {peak / chunk_peak:.1f}x one chunk of {WALK_ROWS} rows "
        f"({chunk_peak / 2**20:.2f} MiB), over about {rows} rows",
    )


def _unpaged_stream():
    """The chunks the unpaged list answers, built by the view's own code (the first one read already)."""
    return opportunity_chunks(opportunity_list(scope=AreaScope.ALL))


def _first_chunk(chunks) -> bytes:
    next(chunks)  # the opening bracket
    return next(chunks)


def _peak_from_first_query(fn: Callable[[], object]) -> int:
    """Peak memory of ``fn`` from its first query on crm_opportunities to its end.

    The view reads the stream's first chunk itself (so a failing database is an error
    response), before the body is iterated: the baseline is taken at that query, after
    authentication and the middleware, so the figure is the stream's alone.
    """
    start: dict[str, int] = {}

    def at_first_query(execute, sql, params, many, context):
        if not start and "crm_opportunities" in sql:
            start["baseline"] = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
        return execute(sql, params, many, context)

    gc.collect()
    tracemalloc.start()
    try:
        with connection.execute_wrapper(at_first_query):
            fn()
        return tracemalloc.get_traced_memory()[1] - start["baseline"]
    finally:
        tracemalloc.stop()


def _read_streamed(bench: Bench, url: str) -> None:
    response = bench.get(bench.reader, url)
    # A body that is not streamed would be measured whole, not a chunk at a time.
    if not response.streaming:
        raise RuntimeError(f"GET {url} did not stream")
    for _ in response.streaming_content:
        pass


# --- Forecast and data quality ---------------------------------------------------------------
def _forecast_floors(bench: Bench) -> list[tuple[str, str]]:
    """Raw SQL for the forecast's numbers: targets, actuals, and the pipeline per area and month."""
    exact = " COLLATE utf8mb4_bin" if bench.mysql else ""
    areas = "('France', 'Germany', 'Switzerland', 'Netherlands', 'UK')"
    month = (
        "DATE_FORMAT(expected_close_date, '%%Y-%%m')"
        if bench.mysql
        else "strftime('%%Y-%%m', expected_close_date)"
    )
    probability = (
        f"CASE WHEN status{exact} = 'Closed Won' THEN 100 WHEN probability IS NOT NULL THEN probability "
        + " ".join(
            f"WHEN status{exact} = '{s}' THEN {p}"
            for s, p in (("Prospecting", 10), ("Qualification", 20), ("Proposal", 50), ("Negotiation", 75))
        )
        + " ELSE 0 END"
    )
    small = [
        f"SELECT area, target FROM revenue_targets "
        f"WHERE fiscal_year = {FISCAL_YEAR} AND area{exact} IN {areas}",
        f"SELECT area, SUM(revenue), MAX(month) FROM revenue_actuals WHERE month BETWEEN '{FY_START}' "
        f"AND '{AS_OF}' AND area{exact} IN {areas} GROUP BY area",
    ]
    measures = (
        f"SUM(est_monthly_revenue * ({probability})) AS w, "
        f"SUM(CASE WHEN status{exact} <> 'Closed Won' THEN 1 ELSE 0 END) AS n, "
        f"SUM(CASE WHEN status{exact} <> 'Closed Won' THEN est_monthly_revenue ELSE 0 END) AS mrr"
    )
    period = f"expected_close_date BETWEEN '{FY_START}' AND '{FY_END}' AND status{exact} <> 'Closed Lost'"
    aggregate_first = (
        f"SELECT c.area, o.m, SUM(o.w), SUM(o.n), SUM(o.mrr) FROM (SELECT cid, {month} AS m, {measures} "
        f"FROM crm_opportunities WHERE {period} GROUP BY cid, m) o JOIN customer c ON c.cid = o.cid "
        f"WHERE c.area{exact} IN {areas} GROUP BY c.area, o.m"
    )
    join_first = (
        f"SELECT c.area, {month} AS m, {measures.replace('est_monthly_revenue', 'o.est_monthly_revenue')} "
        f"FROM crm_opportunities o JOIN customer c ON c.cid = o.cid "
        f"WHERE {period} AND c.area{exact} IN {areas} GROUP BY c.area, m"
    )
    # The area read per deal from the customer's primary key: crm_opportunities is always the
    # table scanned, where a join lets MySQL drive from customer through the cid index.
    area_by_key = (
        f"SELECT (SELECT c.area FROM customer c WHERE c.cid = o.cid AND c.area{exact} IN {areas}) AS a, "
        f"{month} AS m, {measures.replace('est_monthly_revenue', 'o.est_monthly_revenue')} "
        f"FROM crm_opportunities o WHERE {period} GROUP BY a, m"
    )
    return [
        ("aggregate, then join customers", aggregate_first),
        ("join, then aggregate", join_first),
        ("area by primary-key subquery", area_by_key),
    ], small


def forecast_section(bench: Bench) -> None:
    """Forecast cold and repeated, against the fastest raw SQL for its numbers; data quality cold."""
    pipelines, small = _forecast_floors(bench)

    def clear():
        for cache in caches.all():
            cache.clear()

    floors = []
    for label, pipeline in pipelines:

        def run(pipeline=pipeline):
            for query in (*small, pipeline):
                bench.sql(query)

        floors.append((bench.best_of(run), label))
    measured = [(seconds, label) for seconds, label in floors if seconds is not None]
    floor, how = min(measured) if measured else (None, "none")
    for seconds, label in floors:
        bench.add(f"floor: raw SQL for the forecast's numbers ({label})", seconds)
    params = f"fiscal_year={FISCAL_YEAR}&as_of={AS_OF}"
    cold = bench.best_of(lambda: bench.get(bench.reader, f"/api/forecast?{params}"), before=clear)
    bench.add(f"GET /api/forecast?{params}, cold", cold, floor, f"floor: {how}")
    bench.add(
        "GET /api/forecast, repeated with no change",
        bench.best_of(lambda: bench.get(bench.reader, f"/api/forecast?{params}")),
        cold,
        "ratio to the cold forecast",
    )
    bench.add(
        f"GET /api/data-quality?{params}, cold",
        bench.best_of(lambda: bench.get(bench.reader, f"/api/data-quality?{params}"), before=clear),
        cold,
        "ratio to the cold forecast",
    )
    # A reader of one area: the scope's condition inside the same queries (crm/scopes.py).
    france = bench.best_of(lambda: bench.get(bench.france_reader, f"/api/forecast?{params}"), before=clear)
    bench.add(
        "GET /api/forecast, France-only reader, cold", france, cold, "ratio to the all-areas cold forecast"
    )
    bench.add(
        "GET /api/data-quality, France-only reader, cold",
        bench.best_of(lambda: bench.get(bench.france_reader, f"/api/data-quality?{params}"), before=clear),
        france,
        "ratio to the France-only cold forecast",
    )


# --- Bare DRF views: token auth and the same SQL, nothing else ---------------------------------
# The page SQL (query, params) that /bare/pages/<n> serves, registered by pages_section.
_BARE_PAGES: list[tuple[str, list]] = []


class BarePage(APIView):
    """A bare DRF view: token auth, a page's SQL, the rows as dicts in a page body."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request, number):
        query, params = _BARE_PAGES[int(number)]
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            columns = [col[0] for col in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        return Response({"next": None, "previous": None, "results": rows})


class BareDetail(APIView):
    """A bare DRF view: token auth, one SELECT of the same row, a plain dict."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request, oid):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {SELECT} FROM crm_opportunities o JOIN customer c ON c.cid = o.cid WHERE o.oid = %s",
                [oid],
            )
            columns = [col[0] for col in cursor.description]
            return Response(dict(zip(columns, cursor.fetchone(), strict=True)))

    def post(self, request, oid=None):
        data = request.data
        row = [uuid.uuid4().hex, data["cid"], data["opportunity_name"], data["product"], data["status"]]
        row += [data["est_monthly_revenue"], data["probability"], data["forecast_category"]]
        row += [data["expected_close_date"]]
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO crm_opportunities (oid, cid, opportunity_name, product, status, "
                "est_monthly_revenue, probability, forecast_category, expected_close_date) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                row,
            )
        return Response({"oid": row[0], **data}, status=201)


# The URLs of the requests section: the service's own, and the bare view beside them.
urlpatterns = [
    path("bare/opportunities/<str:oid>", BareDetail.as_view()),
    path("bare/opportunities", BareDetail.as_view()),
    path("bare/pages/<str:number>", BarePage.as_view()),
    path("", include("intrasoft.urls")),
]

ROW = {
    "cid": 1,
    "opportunity_name": "Zeiterfassung Zürich \u2013 Rollout",
    "product": "Time Entry",
    "status": "Proposal",
    "est_monthly_revenue": "1234.50",
    "probability": 50,
    "forecast_category": "Best Case",
    "expected_close_date": "2025-03-31",
}


def _posts(bench: Bench, url: str, **headers) -> Callable[[], None]:
    body = orjson.dumps(ROW)

    def run():
        for _ in range(bench.creates):
            extra = {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex} if headers.get("keyed") else {}
            response = bench.editor.post(url, body, content_type="application/json", **extra)
            if response.status_code != 201:
                raise RuntimeError(f"POST {url} answered {response.status_code}: {response.content[:300]!r}")

    return run


def requests_section(bench: Bench) -> None:
    """Detail read and create in-process, each beside a bare DRF view doing the one query or insert."""
    oid = bench.sql(
        f"SELECT oid FROM crm_opportunities ORDER BY oid LIMIT 1 OFFSET {bench.opportunities // 2}"
    )[0][0]
    with override_settings(ROOT_URLCONF=__name__):
        # Each figure timed in turn with its bare view (Bench.in_turn).
        bare, detail = bench.in_turn(
            lambda: bench.get(bench.reader, f"/bare/opportunities/{oid}"),
            lambda: bench.get(bench.reader, f"/api/opportunities/{oid}"),
        )
        failures = bench.failures
        bench.add("floor: bare DRF view, token auth, one SELECT", bare, failure=failures.get(0, ""))
        bench.add("GET /api/opportunities/{oid}", detail, bare, failure=failures.get(1, ""))
        bare, create = bench.in_turn(
            _posts(bench, "/bare/opportunities"), _posts(bench, "/api/opportunities")
        )
        failures = bench.failures
        bare, create = per(bare, bench.creates), per(create, bench.creates)
        bench.add(
            "floor: bare DRF view, token auth, one INSERT",
            bare,
            note="per create",
            failure=failures.get(0, ""),
        )
        bench.add("POST /api/opportunities", create, bare, "per create", failure=failures.get(1, ""))


# --- Writes ------------------------------------------------------------------------------------
def writes_section(bench: Bench) -> None:
    """Create and update cost: raw SQL, the service, the API (and the keyed create)."""
    row = {**ROW, "est_monthly_revenue": Decimal(ROW["est_monthly_revenue"])}
    row["expected_close_date"] = datetime.date.fromisoformat(ROW["expected_close_date"])
    columns = list(row)

    def raw_insert():
        with connection.cursor() as cursor:
            for _ in range(bench.creates):
                cursor.execute(
                    f"INSERT INTO crm_opportunities (oid, {', '.join(columns)}) "
                    f"VALUES ({', '.join(['%s'] * (len(columns) + 1))})",
                    [uuid.uuid4().hex, *row.values()],
                )

    # The updates below change deals these creates made: rows that pass every rule today (a
    # generated row may hold a legacy status, which a PATCH is right to refuse).
    created: list[str] = []

    def service_create():
        for _ in range(bench.creates):
            created.append(opportunity_create(**row).oid)

    floor = per(bench.best_of(raw_insert), bench.creates)
    bench.add("create: floor, raw INSERT committed on its own", floor, note="per create")
    with _without_history():
        bench.add(
            "create: opportunity_create() service, without history",
            per(bench.best_of(service_create), bench.creates),
            floor,
            "per create",
        )
    for label, run in (
        ("create: opportunity_create() service (with history)", service_create),
        ("create: POST /api/opportunities", _posts(bench, "/api/opportunities")),
        ("create: POST with Idempotency-Key", _posts(bench, "/api/opportunities", keyed=True)),
    ):
        bench.add(label, per(bench.best_of(run), bench.creates), floor, "per create")

    targets = created[: bench.creates]
    amounts = iter(range(10**9))

    def raw_update():
        with connection.cursor() as cursor:
            for oid in targets:
                cursor.execute(
                    "UPDATE crm_opportunities SET est_monthly_revenue = %s WHERE oid = %s",
                    [next(amounts) % 9000 + 1, oid],
                )

    def service_update():
        for oid in targets:
            opportunity_update(
                opportunity=Opportunity.objects.get(oid=oid),
                est_monthly_revenue=Decimal(next(amounts) % 9000 + 1),
            )

    def api_update():
        for oid in targets:
            response = bench.editor.patch(
                f"/api/opportunities/{oid}",
                orjson.dumps({"est_monthly_revenue": str(next(amounts) % 9000 + 1)}),
                content_type="application/json",
            )
            if response.status_code != 200:
                raise RuntimeError(f"PATCH answered {response.status_code}: {response.content[:300]!r}")

    floor = per(bench.best_of(raw_update), len(targets))
    bench.add("update: floor, raw UPDATE committed on its own", floor, note="per update")
    with _without_history():
        bench.add(
            "update: opportunity_update() service, without history",
            per(bench.best_of(service_update), len(targets)),
            floor,
            "per update",
        )
    for label, run in (
        ("update: opportunity_update() service (with history)", service_update),
        ("update: PATCH /api/opportunities/{oid}", api_update),
    ):
        bench.add(label, per(bench.best_of(run), len(targets)), floor, "per update")
    _change_feed_pages(bench)


def _without_history():
    """The services with the history INSERT left out: what recording costs, side by side."""
    return mock.patch("crm.services.opportunities.change_record", lambda **kwargs: None)


def _change_feed_pages(bench: Bench) -> None:
    """GET /api/changes?page_size=100 at position 0 and near the end of as many entries as opportunities."""
    from crm.services import change_sequence

    # The entries the writes above recorded get their positions as the feed gives them.
    while Change.objects.filter(position__isnull=True).exists():
        change_sequence(batch=1000)
    total = max(bench.opportunities, 200)
    existing = Change.objects.count()
    batch = 5000
    at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    start = time.perf_counter()
    # The rest are written with their positions already given: the sequencer has its own tests,
    # and at a million entries its catch-up would dominate the set-up, not the page read measured.
    position = ChangeSequence.objects.get().last_position
    for first in range(existing, total, batch):
        rows = range(first, min(first + batch, total))
        Change.objects.bulk_create(
            Change(
                position=position + 1 + n - existing,
                entity=Change.Entity.OPPORTUNITY,
                key=f"{n:032x}",
                cid=1,
                area="France",
                action=Change.Action.UPDATED,
                changes={"probability": [n % 100, (n + 1) % 100]},
                actor="bench",
                source=Change.Source.COMMAND,
                at=at,
            )
            for n in rows
        )
    ChangeSequence.objects.update(last_position=position + max(total - existing, 0))
    setup = time.perf_counter() - start
    last = ChangeSequence.objects.get().last_position
    first_page = bench.best_of(lambda: bench.get(bench.reader, "/api/changes?page_size=100&position=0"))
    bench.add(
        "feed: floor, GET /api/changes?page_size=100 at position 0",
        first_page,
        note=f"{last} entries (written in {setup:.1f} s)",
    )
    deep = last - 100
    bench.add(
        "feed: GET /api/changes?page_size=100 at the last page",
        bench.best_of(lambda: bench.get(bench.reader, f"/api/changes?page_size=100&position={deep}")),
        first_page,
        f"position {deep}; ratio to the page at position 0",
    )


# Sections run in this order.
SECTIONS: dict[str, Callable[[Bench], None]] = {
    "customers": customers_section,
    "pages": pages_section,
    "list": list_section,
    "forecast": forecast_section,
    "requests": requests_section,
    "writes": writes_section,
}


def run(*, sections: list[str], **kwargs) -> list[dict]:
    bench = Bench(**kwargs)
    for name in sections:
        bench.section = name
        print(f"   {bench.backend} {name}", flush=True)
        SECTIONS[name](bench)
    return [asdict(r) | {"ratio": r.ratio} for r in bench.results]

"""Benchmark the API against the speed of the database: ``python manage.py benchmark_api``.

For each backend (SQLite always; MySQL when MYSQL_HOST or a mysql DATABASE_URL is set) and
each N, it builds a throwaway database (a SQLite file in a temporary directory; the MySQL
database ``test_intrasoft_bench``, dropped afterwards), loads N rows and runs every benchmark
section. Figures are wall-clock minima over a few runs, shown as ratios to the section's
floor, so they compare across machines better than milliseconds do.

Each backend runs in its own child process (``--child``), because the database is chosen by
settings at start-up. Never point it at a real database: the MySQL name must start with
``test_intrasoft``.

Adding a section: write ``def my_section(bench: Bench) -> list[Result]`` and add it to
SECTIONS; ``--sections`` picks which run. Sections: ``customers`` (the list endpoint against a
raw fetch) and ``opportunity_create`` (sequential creates against a raw INSERT of the same
row, once per backend, ``--creates`` per run).
"""

import datetime
import gc
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal

import orjson
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from crm.models import Customer, Opportunity
from crm.services import EDITORS_GROUP, api_user_ensure, opportunity_create

DEFAULT_ROWS = (1_000, 10_000, 100_000)
BENCH_MYSQL_DB = "test_intrasoft_bench"
# One sync worker: the production server, measuring one request at a time.
GUNICORN_ARGS = ("-w", "1", "--timeout", "300", "--log-level", "warning")
CUSTOMER_COLUMNS = (
    "cid",
    "customer_name",
    "area",
    "account_executive",
    "technical_specialist",
    "industry",
    "contract_type",
    "contract_start_date",
    "contract_end_date",
    "is_active",
    "is_key_account",
)


@dataclass
class Result:
    section: str
    backend: str
    rows: int
    label: str
    seconds: float
    # The floor this result is compared with (None for the floor itself).
    floor_seconds: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.floor_seconds if self.floor_seconds else None


@dataclass
class Bench:
    """What a section gets: the backend, N, an authenticated client, a live server, a timer."""

    backend: str
    rows: int
    token: str
    port: int
    repeat: int
    # Sequential creates per timed run of the opportunity_create section.
    creates: int = 200
    client: Client = field(init=False)

    def __post_init__(self):
        self.client = Client(HTTP_AUTHORIZATION=f"Token {self.token}")

    def best_of(self, fn: Callable[[], object]) -> float:
        """The fastest of ``repeat`` runs (after one warm-up): the least disturbed by other load."""
        fn()
        times = []
        for _ in range(self.repeat):
            gc.collect()
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    def http_get(self, path: str) -> bytes:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            conn.request("GET", path, headers={"Authorization": f"Token {self.token}"})
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise CommandError(f"GET {path} over HTTP answered {response.status}: {body[:200]!r}")
            return body
        finally:
            conn.close()


# --- Data ------------------------------------------------------------------------------
NAMES = [
    "Zürich Versicherungen AG",
    "Société Générale Assurances",
    "Ørsted Nederland B.V.",
    "Brasserie du Marché ☕",
    "Garonne Distribution SA",
    "Aare Informatik GmbH",
    "Thames Logistics Ltd",
    "Rijnmond Havendiensten",
]
PEOPLE = ["Camille Laurent", "Jonas Weber", "Nicole Keller", "Sanne de Vries", "Oliver Bennett", None]
AREAS = ["France", "Germany", "Switzerland", "Netherlands", "UK"]


def customer_rows(n: int) -> list[tuple]:
    rng = random.Random(n)
    start = datetime.date(2019, 1, 1)
    rows = []
    for cid in range(1, n + 1):
        begin = start + datetime.timedelta(days=rng.randrange(2000)) if rng.random() > 0.05 else None
        rows.append(
            (
                cid,
                f"{rng.choice(NAMES)} {cid}",
                rng.choice(AREAS),
                rng.choice(PEOPLE),
                rng.choice(PEOPLE),
                rng.choice(["Manufacturing", "Retail", "Healthcare", None]),
                rng.choice(["Annual", "Multi-year", "Monthly", None]),
                begin,
                begin + datetime.timedelta(days=1095) if begin else None,
                rng.random() > 0.1,
                rng.random() > 0.9,
            )
        )
    return rows


def load_customers(n: int) -> None:
    placeholders = ", ".join(["%s"] * len(CUSTOMER_COLUMNS))
    sql = f"INSERT INTO customer ({', '.join(CUSTOMER_COLUMNS)}) VALUES ({placeholders})"  # noqa: S608
    rows = customer_rows(n)
    # One transaction: in autocommit SQLite would sync the file after every row.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM customer")
        for start in range(0, n, 5000):
            cursor.executemany(sql, rows[start : start + 5000])


# --- Sections ----------------------------------------------------------------------------
class PlainCustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = "__all__"


def customer_list_section(bench: Bench) -> list[Result]:
    """GET /api/customers against a raw fetch + orjson, and against a plain ModelSerializer."""
    load_customers(bench.rows)
    select = f"SELECT {', '.join(CUSTOMER_COLUMNS)} FROM customer ORDER BY cid"  # noqa: S608

    def floor() -> bytes:
        with connection.cursor() as cursor:
            cursor.execute(select)
            columns = [col[0] for col in cursor.description]
            return orjson.dumps([dict(zip(columns, row, strict=True)) for row in cursor.fetchall()])

    def test_client() -> bytes:
        response = bench.client.get("/api/customers")
        if response.status_code != 200:
            raise CommandError(f"GET /api/customers answered {response.status_code}")
        return response.content

    def model_serializer() -> bytes:
        return JSONRenderer().render(PlainCustomerSerializer(Customer.objects.all(), many=True).data)

    body = test_client()
    if len(orjson.loads(body)) != bench.rows or orjson.loads(body) != orjson.loads(model_serializer()):
        raise CommandError("the endpoint's JSON differs from the ModelSerializer's: the benchmark is void")

    floor_s = bench.best_of(floor)
    results = [
        Result("customers", bench.backend, bench.rows, "floor: raw SQL + dicts + orjson", floor_s),
        Result(
            "customers",
            bench.backend,
            bench.rows,
            "GET /api/customers, Django test client",
            bench.best_of(test_client),
            floor_s,
        ),
        Result(
            "customers",
            bench.backend,
            bench.rows,
            "GET /api/customers, HTTP (gunicorn, loopback)",
            bench.best_of(lambda: bench.http_get("/api/customers")),
            floor_s,
        ),
        Result(
            "customers",
            bench.backend,
            bench.rows,
            "reference: plain DRF ModelSerializer",
            bench.best_of(model_serializer),
            floor_s,
        ),
    ]

    gc.collect()
    tracemalloc.start()
    size = len(test_client())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    results.append(
        Result(
            "customers",
            bench.backend,
            bench.rows,
            "peak memory of one list request",
            0.0,
            note=f"{peak / 2**20:.1f} MiB = {peak / size:.2f}x the {size / 2**20:.1f} MiB response",
        )
    )
    return results


# --- Opportunity creates ------------------------------------------------------------------
OPPORTUNITY_CID = 1001
OPPORTUNITY_ROW = {
    "opportunity_name": "Zeiterfassung Zürich \u2013 Rollout",
    "product": "Time Entry",
    "status": "Proposal",
    "est_monthly_revenue": "1234.50",
    "probability": 50,
    "forecast_category": "Best Case",
    "expected_close_date": "2025-03-31",
}


def opportunity_create_runners(*, client: Client, creates: int) -> list[tuple[str, Callable[[], None]]]:
    """The ways of making ``creates`` sequential opportunities of the same row, the floor first.

    ``client`` is an editor's authenticated test client; the customer is created if missing.
    Each runner adds ``creates`` rows.
    """
    Customer.objects.get_or_create(
        cid=OPPORTUNITY_CID, defaults={"customer_name": "Société Générale", "area": "France"}
    )
    row = OPPORTUNITY_ROW
    body = orjson.dumps({"cid": OPPORTUNITY_CID, **row})
    close_date = datetime.date.fromisoformat(row["expected_close_date"])
    columns = ("oid", "cid", *row)
    insert = (
        f"INSERT INTO crm_opportunities ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )

    def raw_insert():
        # Autocommit: each row committed on its own, as each create is.
        with connection.cursor() as cursor:
            for _ in range(creates):
                cursor.execute(insert, [uuid.uuid4().hex, OPPORTUNITY_CID, *row.values()])

    def service():
        for _ in range(creates):
            opportunity_create(
                cid=OPPORTUNITY_CID,
                opportunity_name=row["opportunity_name"],
                product=row["product"],
                status=row["status"],
                est_monthly_revenue=Decimal(row["est_monthly_revenue"]),
                expected_close_date=close_date,
                probability=row["probability"],
                forecast_category=row["forecast_category"],
            )

    def api(idempotent: bool) -> Callable[[], None]:
        def run():
            for _ in range(creates):
                headers = {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex} if idempotent else {}
                response = client.post("/api/opportunities", body, content_type="application/json", **headers)
                if response.status_code != 201:
                    raise CommandError(f"POST answered {response.status_code}: {response.content[:200]!r}")

        return run

    return [
        ("floor: raw INSERT of the same row", raw_insert),
        ("opportunity_create() service", service),
        ("POST /api/opportunities (test client)", api(idempotent=False)),
        ("POST with Idempotency-Key (test client)", api(idempotent=True)),
    ]


# Creating does not depend on N: the section runs once per backend (per child process).
_opportunity_create_done: set[str] = set()


def opportunity_create_section(bench: Bench) -> list[Result]:
    """Sequential creates per second against a raw INSERT of the same row, per create."""
    if bench.backend in _opportunity_create_done:
        return []
    _opportunity_create_done.add(bench.backend)
    _, token = api_user_ensure(username="bench-editor", group=EDITORS_GROUP)
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    results = []
    floor = None
    try:
        for label, run in opportunity_create_runners(client=client, creates=bench.creates):
            before = Opportunity.objects.count()
            per_create = bench.best_of(run) / bench.creates
            if Opportunity.objects.count() - before != bench.creates * (bench.repeat + 1):
                raise CommandError(f"{label}: not every run created its rows; the benchmark is void")
            results.append(
                Result(
                    "opportunity_create",
                    bench.backend,
                    bench.rows,
                    label,
                    per_create,
                    floor_seconds=floor,
                    note=f"ms per create; {1 / per_create:.0f} creates/s ({bench.creates} in a row)",
                )
            )
            floor = floor or per_create
    finally:
        # The next N reloads the customers, which the RESTRICT foreign key would refuse.
        Opportunity.objects.all().delete()
    return results


# Sections run in this order for each backend and N.
SECTIONS: dict[str, Callable[[Bench], list[Result]]] = {
    "customers": customer_list_section,
    "opportunity_create": opportunity_create_section,
}


# --- Running -------------------------------------------------------------------------------
def _wait_for_port(port: int, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise CommandError("the HTTP server exited at start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise CommandError(f"the HTTP server did not listen on 127.0.0.1:{port}")


def _mysql_server_settings() -> dict | None:
    db = settings.DATABASES["default"]
    return db if db["ENGINE"] == "django.db.backends.mysql" else None


class Command(BaseCommand):
    help = "Benchmark the list endpoints against a raw-SQL floor on SQLite and MySQL (throwaway databases)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--rows",
            default=",".join(map(str, DEFAULT_ROWS)),
            help="Comma-separated N (default %(default)s).",
        )
        parser.add_argument("--backends", default="sqlite,mysql", help="sqlite, mysql or both.")
        parser.add_argument("--sections", default=",".join(SECTIONS), help="Sections to run.")
        parser.add_argument("--port", type=int, default=8101, help="Loopback port for the HTTP server.")
        parser.add_argument("--repeat", type=int, default=5, help="Timed runs per figure (the best counts).")
        parser.add_argument(
            "--creates", type=int, default=200, help="Sequential creates per timed run (opportunity_create)."
        )
        parser.add_argument("--child", help="Internal: run one backend in this process, print JSON.")

    def handle(self, *args, **options):
        rows = [int(n) for n in options["rows"].split(",") if n]
        sections = [s for s in options["sections"].split(",") if s]
        unknown = set(sections) - set(SECTIONS)
        if unknown:
            raise CommandError(
                f"unknown sections: {', '.join(sorted(unknown))}; known: {', '.join(SECTIONS)}"
            )
        if options["child"]:
            return self.run_child(
                options["child"], rows, sections, options["port"], options["repeat"], options["creates"]
            )

        results = []
        for backend in [b for b in options["backends"].split(",") if b]:
            env = self.child_env(backend)
            if env is None:
                self.stderr.write(f"skipping {backend}: no MySQL configured (set MYSQL_HOST etc.)")
                continue
            self.stderr.write(f"== {backend}")
            args = [sys.executable, "manage.py", "benchmark_api", "--child", backend]
            args += ["--rows", options["rows"], "--sections", ",".join(sections)]
            args += ["--port", str(options["port"]), "--repeat", str(options["repeat"])]
            args += ["--creates", str(options["creates"])]
            proc = subprocess.run(  # noqa: S603
                args, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, check=False
            )
            if proc.returncode != 0:
                raise CommandError(f"{backend} benchmark failed:\n{proc.stderr[-3000:]}")
            results += [Result(**r) for r in json.loads(proc.stdout.strip().splitlines()[-1])]
        self.print_table(results)

    def child_env(self, backend: str) -> dict | None:
        env = {**os.environ, "DEBUG": "false", "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost"}
        env.update(THROTTLE_USER="1000000/min", LOG_LEVEL="WARNING")
        if backend == "sqlite":
            env.pop("MYSQL_HOST", None)
            env["DATABASE_URL"] = "sqlite:///" + os.path.join(
                tempfile.mkdtemp(prefix="crm-bench-"), "bench.sqlite3"
            )
            return env
        if backend == "mysql":
            if not _mysql_server_settings():
                return None
            # Same server and credentials as configured, a throwaway database of our own.
            db = settings.DATABASES["default"]
            env.pop("DATABASE_URL", None)
            env.update(
                MYSQL_HOST=str(db["HOST"]),
                MYSQL_PORT=str(db["PORT"] or 3306),
                MYSQL_USER=db["USER"],
                MYSQL_PASSWORD=db["PASSWORD"],
                MYSQL_DB=BENCH_MYSQL_DB,
            )
            return env
        raise CommandError(f"unknown backend {backend!r}: use sqlite and/or mysql")

    def run_child(
        self, backend: str, rows: list[int], sections: list[str], port: int, repeat: int, creates: int
    ) -> None:
        self.prepare_database(backend)
        try:
            call_command("migrate", verbosity=0, interactive=False)
            call_command("create_crm_tables", verbosity=0)
            _, token = api_user_ensure(username="bench-reader", group="CRM readers")
            server = subprocess.Popen(  # noqa: S603
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "intrasoft.wsgi",
                    "-b",
                    f"127.0.0.1:{port}",
                    *GUNICORN_ARGS,
                ],
                cwd=settings.BASE_DIR,
                env=os.environ.copy(),
            )
            try:
                _wait_for_port(port, server)
                results = []
                for n in rows:
                    bench = Bench(
                        backend=backend, rows=n, token=token, port=port, repeat=repeat, creates=creates
                    )
                    for name in sections:
                        self.stderr.write(f"   {backend} N={n} {name}")
                        results += SECTIONS[name](bench)
            finally:
                server.terminate()
                server.wait(timeout=30)
        finally:
            self.drop_database(backend)
        self.stdout.write(json.dumps([asdict(r) for r in results]))

    def prepare_database(self, backend: str) -> None:
        db = settings.DATABASES["default"]
        if backend == "mysql":
            name = db["NAME"]
            if not name.startswith("test_intrasoft"):
                raise CommandError(
                    f"refusing to benchmark in {name!r}: the name must start with test_intrasoft"
                )
            import MySQLdb

            server = MySQLdb.connect(
                host=db["HOST"], port=int(db["PORT"] or 3306), user=db["USER"], password=db["PASSWORD"]
            )
            try:
                cursor = server.cursor()
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
                cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            finally:
                server.close()

    def drop_database(self, backend: str) -> None:
        connection.close()
        db = settings.DATABASES["default"]
        if backend == "mysql":
            import MySQLdb

            server = MySQLdb.connect(
                host=db["HOST"], port=int(db["PORT"] or 3306), user=db["USER"], password=db["PASSWORD"]
            )
            try:
                server.cursor().execute(f"DROP DATABASE IF EXISTS `{db['NAME']}`")
            finally:
                server.close()
        else:
            shutil.rmtree(os.path.dirname(str(db["NAME"])), ignore_errors=True)

    def print_table(self, results: list[Result]) -> None:
        self.stdout.write(f"{'backend':<8} {'N':>7}  {'figure':<46} {'ms':>9} {'x floor':>8}  note")
        for r in results:
            ms = f"{r.seconds * 1000:9.1f}" if r.seconds else " " * 9
            ratio = f"{r.ratio:7.2f}x" if r.ratio else " " * 8
            self.stdout.write(f"{r.backend:<8} {r.rows:>7}  {r.label:<46} {ms} {ratio}  {r.note}".rstrip())

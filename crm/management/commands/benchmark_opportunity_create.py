"""Sequential opportunity creates per second against a raw INSERT of the same row.

``python manage.py benchmark_opportunity_create`` measures, on the configured backend, in a
throwaway test database (a temporary SQLite file; on MySQL ``test_intrasoft_bench_opportunities``,
dropped afterwards):

- the floor: one raw ``INSERT`` of the row per create, committed on its own (autocommit);
- ``opportunity_create`` (rules, customer check, INSERT, read-back, one transaction);
- ``POST /api/opportunities`` through Django's test client (token auth, permissions,
  parsing, the service, rendering), without and with an ``Idempotency-Key``.

Each figure is the best of ``--repeat`` runs of ``--creates`` sequential creates, shown as
creates per second and as a ratio of time to the floor. Run it once per backend: without
MySQL settings it uses SQLite; with ``MYSQL_HOST`` (or a mysql ``DATABASE_URL``) MySQL.
Throttling is switched off for the run (100+ creates a second would trip the user rate).
"""

import datetime
import gc
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import orjson
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from crm.models import Customer, Opportunity
from crm.schema import create_legacy_tables
from crm.services import EDITORS_GROUP, api_user_ensure, opportunity_create

BENCH_MYSQL_DB = "test_intrasoft_bench_opportunities"
ROW = {
    "opportunity_name": "Zeiterfassung Zürich \u2013 Rollout",
    "product": "Time Entry",
    "status": "Proposal",
    "est_monthly_revenue": "1234.50",
    "probability": 50,
    "forecast_category": "Best Case",
    "expected_close_date": "2025-03-31",
}
CID = 1001


def opportunity_create_runners(*, client: Client, creates: int) -> list[tuple[str, Callable[[], None]]]:
    """The ways of making ``creates`` sequential opportunities, the floor first.

    ``client`` is an editor's authenticated test client; the customer is created if missing.
    Each runner adds ``creates`` rows; the caller clears or counts them, and switches
    throttling off (100+ creates a second would trip the user rate).
    """
    Customer.objects.get_or_create(cid=CID, defaults={"customer_name": "Société Générale", "area": "France"})
    body = orjson.dumps({"cid": CID, **ROW})
    close_date = datetime.date.fromisoformat(ROW["expected_close_date"])
    columns = ("oid", "cid", *ROW)
    insert = (
        f"INSERT INTO crm_opportunities ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )

    def raw_insert():
        with connection.cursor() as cursor:
            for _ in range(creates):
                cursor.execute(insert, [uuid.uuid4().hex, CID, *ROW.values()])

    def service():
        for _ in range(creates):
            opportunity_create(
                cid=CID,
                opportunity_name=ROW["opportunity_name"],
                product=ROW["product"],
                status=ROW["status"],
                est_monthly_revenue=Decimal(ROW["est_monthly_revenue"]),
                expected_close_date=close_date,
                probability=ROW["probability"],
                forecast_category=ROW["forecast_category"],
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
        ("floor: raw INSERT, autocommit", raw_insert),
        ("opportunity_create (service)", service),
        ("POST /api/opportunities", api(idempotent=False)),
        ("POST with Idempotency-Key", api(idempotent=True)),
    ]


class Command(BaseCommand):
    help = "Sequential opportunity creates per second vs a raw INSERT of the same row (configured backend)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--creates", type=int, default=300, help="sequential creates per run (default 300)"
        )
        parser.add_argument(
            "--repeat", type=int, default=3, help="runs per figure; the best counts (default 3)"
        )

    def handle(self, *args, creates: int, repeat: int, **options):
        db = settings.DATABASES["default"]
        vendor = connection.vendor
        with tempfile.TemporaryDirectory() as tmp:
            if vendor == "sqlite":
                db.setdefault("TEST", {})["NAME"] = str(Path(tmp) / "bench.sqlite3")
            elif vendor == "mysql":
                db.setdefault("TEST", {})["NAME"] = BENCH_MYSQL_DB
            else:
                raise CommandError(f"unsupported backend {vendor}")
            old_name = db["NAME"]
            connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
            try:
                results = self._run(creates, repeat)
            finally:
                connection.creation.destroy_test_db(old_name, verbosity=0)
        self._print(vendor, creates, results)

    def _run(self, creates: int, repeat: int) -> list[tuple[str, float]]:
        create_legacy_tables(connection)
        _, token = api_user_ensure(username="bench-editor", group=EDITORS_GROUP)
        # Host of an allowed name: ALLOWED_HOSTS has no "testserver" outside the test runner.
        client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")
        # Measured here is the work of a create, not the rate limit (a one-off process).
        UserRateThrottle.THROTTLE_RATES = {**UserRateThrottle.THROTTLE_RATES, "user": None, "anon": None}
        AnonRateThrottle.THROTTLE_RATES = UserRateThrottle.THROTTLE_RATES
        results = []
        for label, run in opportunity_create_runners(client=client, creates=creates):
            times = []
            for _ in range(repeat + 1):
                Opportunity.objects.all().delete()
                gc.collect()
                start = time.perf_counter()
                run()
                times.append(time.perf_counter() - start)
                if Opportunity.objects.count() != creates:
                    raise CommandError(f"{label}: expected {creates} rows; the benchmark is void")
            # The first run warms caches and connections and does not count; the fastest of the
            # rest is the one least disturbed by other load on the machine.
            results.append((label, min(times[1:])))
        return results

    def _print(self, vendor: str, creates: int, results: list[tuple[str, float]]) -> None:
        floor = results[0][1]
        self.stdout.write(f"Backend: {vendor}; {creates} sequential creates per run; best run counts.")
        self.stdout.write(f"{'':34} {'creates/s':>10} {'ms/create':>10} {'x floor':>8}")
        for label, seconds in results:
            per_create_ms = seconds / creates * 1000
            self.stdout.write(
                f"{label:34} {creates / seconds:10.0f} {per_create_ms:10.3f} {seconds / floor:8.2f}"
            )

"""Pipeline movement at volume: one figure, the time GET /api/forecast/movement's computation takes.

    .venv/bin/python .ci/movement_bench.py [--opportunities 1000000] [--customers 100000] [--changes 10000]
    .venv/bin/python .ci/movement_bench.py --mysql-db test_intrasoft_NAME_1m [--changes 10000]

Builds a throwaway SQLite database (a temporary file, removed afterwards): the four tables filled
by ``benchdata.py``, then ``--changes`` recorded revenue changes spread over the first two weeks
of December 2024 on as many deals (their rows updated to match, so none is unexplained). With
``--mysql-db`` it uses a MySQL database that ``.ci/bench.py --generate-only --keep-db NAME`` loaded
instead (MYSQL_HOST, MYSQL_USER, MYSQL_PASSWORD from the environment, as the bench), writes the
changes there once and keeps them for the next run. Then it times ``crm.movement.movement_compute``
for FY2025 from 2024-12-01 to 2024-12-14: the first run
(cold: it aggregates the current pipeline over every deal, as the forecast does) and the fastest
of two more (the aggregate cached as the forecast's, crm/report_cache.py), against a 1 s floor.
In-process, without HTTP: the request overhead is the forecast's, measured by ``.ci/bench.py``.
"""

import argparse
import datetime
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / ".ci"))

FLOOR_SECONDS = 1.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument(
        "--mysql-db", help="A kept MySQL benchmark database (test_intrasoft...) instead of a SQLite file."
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intrasoft.settings")
        if args.mysql_db:
            from serverkit import mysql_env

            os.environ.update(mysql_env(args.mysql_db))
            os.environ.pop("DATABASE_URL", None)
        else:
            path = Path(tmp) / "movement.sqlite3"
            os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        import django

        django.setup()
        from django.db import connection

        from crm.models import Change

        if args.mysql_db:
            backend = "mysql"
            written = Change.objects.filter(entity="opportunity").count()
            if written not in (0, args.changes):
                raise SystemExit(f"{args.mysql_db} holds {written} opportunity changes, not {args.changes}.")
            if not written:
                _write_changes(connection.connection, args, placeholder="%s")
        else:
            import benchdata
            from django.core.management import call_command

            from crm.schema import create_legacy_tables

            backend = "sqlite"
            call_command("migrate", verbosity=0)
            create_legacy_tables(connection)
            raw = sqlite3.connect(path)
            benchdata.generate(raw, customers=args.customers, opportunities=args.opportunities)
            _write_changes(raw, args, placeholder="?")
            raw.close()
        return _measure(args, backend)


def _write_changes(raw, args, *, placeholder: str) -> None:
    """One recorded revenue change per deal on evenly spaced deals, dated across the window."""
    from crm.models import Change

    cursor = raw.cursor()
    cursor.execute("SELECT COUNT(*) FROM crm_opportunities")
    (opportunities,) = cursor.fetchone()
    step = max(opportunities // args.changes, 1)
    cursor.execute("SELECT oid, est_monthly_revenue FROM crm_opportunities ORDER BY oid")
    picked = cursor.fetchall()[::step][: args.changes]
    start = datetime.datetime(2024, 12, 1, tzinfo=datetime.UTC)
    entries, updates = [], []
    for i, (oid, revenue) in enumerate(picked):
        at = start + datetime.timedelta(seconds=i * 14 * 86400 // len(picked))
        new = f"{float(revenue) + 100:.2f}"
        entries.append(
            Change(
                entity="opportunity",
                key=oid,
                action="updated",
                changes={"est_monthly_revenue": [f"{float(revenue):.2f}", new]},
                source="command",
                at=at,
            )
        )
        updates.append((new, at.isoformat(sep=" ").replace("+00:00", ""), oid))
    cursor.executemany(
        f"UPDATE crm_opportunities SET est_monthly_revenue = {placeholder}, updated_at = {placeholder} "
        f"WHERE oid = {placeholder}",
        updates,
    )
    raw.commit()
    Change.objects.bulk_create(entries, batch_size=1000)
    # The history starts before the window.
    Change.objects.create(
        entity="customer",
        key="1",
        action="updated",
        changes={},
        source="command",
        at=datetime.datetime(2024, 11, 1, tzinfo=datetime.UTC),
    )


def _measure(args, backend: str) -> int:
    from django.db import connection

    from crm.models import Change, Opportunity
    from crm.movement import movement_compute
    from crm.scopes import AreaScope

    opportunities = Opportunity.objects.count()
    changes = Change.objects.filter(entity="opportunity").count()
    timings = []
    for _ in range(3):
        begin = time.perf_counter()
        movement = movement_compute(
            fiscal_year=2025,
            date_from=datetime.date(2024, 12, 1),
            date_to=datetime.date(2024, 12, 14),
            scope=AreaScope.ALL,
        )
        timings.append(time.perf_counter() - begin)
    # The first run aggregates the current pipeline (as the forecast does, every deal); the
    # next ones find it in the report cache and read only the window's changes.
    cold, best = timings[0], min(timings[1:])
    verdict = "ok" if best <= FLOOR_SECONDS else "OVER"
    print(
        f"movement FY2025 2024-12-01..14, {opportunities} opportunities, {changes} changes "
        f"({backend}): {best:.3f}s with the pipeline cached (floor {FLOOR_SECONDS:.1f}s) {verdict}; "
        f"{cold:.3f}s cold (the forecast's aggregate); "
        f"{movement.total.buckets['increased']['open_mrr']} EUR of revenue increases"
    )
    connection.close()
    return 0 if best <= FLOOR_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

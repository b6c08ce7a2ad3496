"""How long the workbook import takes for 100,000 rows in one sheet, and its peak memory.

    python .ci/import_bench.py                 # SQLite (a throwaway file under var/, removed after)
    MYSQL_HOST=... python .ci/import_bench.py  # MySQL: throwaway database test_intrasoft_import_bench

A fresh database gets the demo data; then, each in a fresh process (timed inside it, after
Django has started), the command's code path (crm.imports.runs.import_run) runs on generated
XLSX files: 100,000 new customers (dry run, real run, the same file again: all unchanged) and
100,000 new opportunities of demo customers (dry run, real run). Prints one line per run:
seconds, rows per second, peak memory of the process, file size. The target is under a
minute per 100,000-row sheet. Rows: IMPORT_BENCH_ROWS (default 100000).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from openpyxl import Workbook
from serverkit import PYTHON, ROOT, base_env, create_database, drop_database, log, mysql_env

ROWS = int(os.environ.get("IMPORT_BENCH_ROWS", "100000"))
FIRST_CID = 2_000_000
DEMO_CIDS = (1001, 1002, 1003, 1004, 1005)

CHILD = """
import io, json, resource, sys, time
import django
django.setup()
from crm.imports.runs import import_run
path, dry_run = sys.argv[1], sys.argv[2] == "dry"
with open(path, "rb") as stream:
    started = time.perf_counter()
    run = import_run(files=[(path.rsplit("/", 1)[-1], stream)], dry_run=dry_run, partial=False)
    seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
report = run.report
print(json.dumps({"seconds": seconds, "peak_mib": peak, "counts": report["counts"]}))
"""


def customers_workbook(path: Path) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Customer")
    sheet.append(
        ["cid", "customer_name", "area", "account_executive", "industry", "is_active", "is_key_account"]
    )
    areas = ("France", "Germany", "Switzerland", "Netherlands", "UK")
    for i in range(ROWS):
        sheet.append(
            [FIRST_CID + i, f"Bench customer {i}", areas[i % 5], f"AE {i % 40}", "Retail", 1, i % 7 == 0]
        )
    book.save(path)


def opportunities_workbook(path: Path) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("CRM Opportunities")
    sheet.append(
        ["cid", "opportunity_name", "product", "status", "est_monthly_revenue", "expected_close_date"]
    )
    statuses = ("Prospecting", "Qualification", "Proposal", "Negotiation")
    products = ("Accounting", "Time Entry", "Payroll", "Expenses")
    for i in range(ROWS):
        sheet.append(
            [
                DEMO_CIDS[i % 5],
                f"Bench deal {i}",
                products[i % 4],
                statuses[i % 4],
                100 + i % 900,
                "2025-06-30",
            ]
        )
    book.save(path)


def run(env: dict, path: Path, mode: str, label: str) -> None:
    result = subprocess.run(
        [PYTHON, "-c", CHILD, str(path), mode],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "intrasoft.settings"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        log(f"{label}: failed\n{result.stderr[-3000:]}")
        raise SystemExit(1)
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    table = next(t for t, c in figures["counts"].items() if sum(c.values()))
    counts = figures["counts"][table]
    outcome = ", ".join(f"{n} {action}" for action, n in counts.items() if n)
    size = path.stat().st_size / 1024 / 1024
    print(
        f"{label:<34} {figures['seconds']:7.1f} s  {ROWS / figures['seconds']:8.0f} rows/s  "
        f"peak {figures['peak_mib']:6.0f} MiB  file {size:4.1f} MiB  ({outcome})",
        flush=True,
    )


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="crm-import-bench-"))
    if os.environ.get("MYSQL_HOST") and not os.environ.get("DATABASE_URL"):
        env = mysql_env(os.environ.get("IMPORT_BENCH_MYSQL_DB", "test_intrasoft_import_bench"))
        backend = f"MySQL {env['MYSQL_DB']}"
    else:
        # A file of its own per run: two runs in one checkout (the test, a measurement) never meet.
        db = ROOT / "var" / f"import-bench-{os.getpid()}.sqlite3"
        db.unlink(missing_ok=True)
        env = base_env(DATABASE_URL=f"sqlite:///{db}")
        backend = "SQLite"
    # The generated files are a few MiB; the default 10 MiB limit holds them.
    env["IMPORT_MAX_FILE_SIZE"] = str(64 * 1024 * 1024)
    log(f"import bench: {ROWS} rows per sheet, {backend}")
    create_database(env)
    try:
        customers, opportunities = work / "customers.xlsx", work / "opportunities.xlsx"
        customers_workbook(customers)
        opportunities_workbook(opportunities)
        run(env, customers, "dry", f"{backend} customers, dry run")
        run(env, customers, "real", f"{backend} customers, import")
        run(env, customers, "real", f"{backend} customers, again (unchanged)")
        run(env, opportunities, "dry", f"{backend} opportunities, dry run")
        run(env, opportunities, "real", f"{backend} opportunities, import")
    finally:
        drop_database(env)
        if backend == "SQLite":
            db.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

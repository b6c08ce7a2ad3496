"""The benchmark (.ci/bench.py) runs end to end at small N and prints every figure of issue 11.

It runs on this suite's backend (on MySQL that exercises the SQL data generator's MariaDB or
MySQL 8 form) in a throwaway database beside the test database. The figures are not checked,
only that each is there: measured with its floor and ratio, or marked "not available" with
the reason (an endpoint this code does not have yet).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
IS_MYSQL = settings.DATABASES["default"]["ENGINE"] == settings.MYSQL_ENGINE

# (section, figure) as the targets name them; a floor line has no ratio.
FIGURES = [
    ("customers", "floor: raw SQL + dicts + orjson"),
    ("customers", "GET /api/customers, Django test client"),
    ("customers", "GET /api/customers, HTTP (gunicorn, loopback)"),
    ("customers", "reference: plain DRF ModelSerializer"),
    ("customers", "peak memory of one list request"),
    ("pages", "floor: raw SQL, first page of 50"),
    ("pages", "GET ?page_size=50 (first page, cursor)"),
    ("pages", "reference: bare DRF view (token auth), same SQL, first page"),
    ("pages", "GET ?limit=50 (first page, limit/offset)"),
    ("pages", "floor: raw SQL, page of 50 at depth 270"),
    ("pages", "GET ?page_size=50&cursor=... at depth 270"),
    ("pages", "reference: bare DRF view (token auth), same SQL, depth 270"),
    ("pages", "GET ?limit=50&offset=270"),
    ("pages", "floor: raw SQL, area=France, first 50"),
    ("pages", "GET area=France, first 50"),
    ("pages", "GET first 50, France-only reader (area scope)"),
    ("pages", "floor: raw SQL, status=Proposal, first 50"),
    ("pages", "GET status=Proposal, first 50"),
    ("pages", "floor: raw SQL, product=Payroll, first 50"),
    ("pages", "GET product=Payroll, first 50"),
    ("pages", "floor: raw SQL, cid=1 (the largest customer), first 50"),
    ("pages", "GET cid=1 (the largest customer), first 50"),
    ("pages", "floor: raw SQL, close date in January 2025, first 50"),
    ("pages", "GET close date in January 2025, first 50"),
    ("list", "floor: raw fetch + encode, all 300 rows"),
    ("list", "GET /api/opportunities (unpaged), HTTP"),
    ("list", "GET /api/opportunities (unpaged), in-process (no worker timeout)"),
    ("list", "peak memory of the unpaged list (test client)"),
    ("forecast", "floor: raw SQL for the forecast's numbers (aggregate, then join customers)"),
    ("forecast", "floor: raw SQL for the forecast's numbers (join, then aggregate)"),
    ("forecast", "floor: raw SQL for the forecast's numbers (area by primary-key subquery)"),
    ("forecast", "GET /api/forecast?fiscal_year=2025&as_of=2024-12-15, cold"),
    ("forecast", "GET /api/forecast, repeated with no change"),
    ("forecast", "GET /api/data-quality?fiscal_year=2025&as_of=2024-12-15, cold"),
    ("forecast", "GET /api/forecast, France-only reader, cold"),
    ("forecast", "GET /api/data-quality, France-only reader, cold"),
    ("requests", "floor: bare DRF view, token auth, one SELECT"),
    ("requests", "GET /api/opportunities/{oid}"),
    ("requests", "floor: bare DRF view, token auth, one INSERT"),
    ("requests", "POST /api/opportunities"),
    ("writes", "create: floor, raw INSERT committed on its own"),
    ("writes", "create: opportunity_create() service, without history"),
    ("writes", "create: opportunity_create() service (with history)"),
    ("writes", "create: POST /api/opportunities"),
    ("writes", "create: POST with Idempotency-Key"),
    ("writes", "update: floor, raw UPDATE committed on its own"),
    ("writes", "update: opportunity_update() service, without history"),
    ("writes", "update: opportunity_update() service (with history)"),
    ("writes", "update: PATCH /api/opportunities/{oid}"),
    ("writes", "feed: floor, GET /api/changes?page_size=100 at position 0"),
    ("writes", "feed: GET /api/changes?page_size=100 at the last page"),
]
# --history: the generated change history (one entry per deal) is read by the data-quality report.
SMALL = ["--opportunities", "300", "--customers", "30", "--repeat", "1", "--creates", "2", "--history"]
# Batches of 10 ms: what is checked here is that every figure prints, not how fast.
SMALL += ["--batch-seconds", "0.01"]
MEASURED = re.compile(
    r"^\s+(?P<ms>\d+\.\d)(?:\s+(?P<floor>\d+\.\d)\s+(?P<ratio>\d+\.\d\dx))?(?:\s+(?P<note>.*))?$"
)


def test_the_benchmark_prints_every_figure_with_its_floor_and_ratio():
    """300 opportunities, 30 customers: every figure once, in order, measured (with a ratio unless
    it is a floor) or marked not available with the reason."""
    # given
    backend = "mysql" if IS_MYSQL else "sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    if not IS_MYSQL:
        env.pop("MYSQL_HOST", None)
    # when
    result = subprocess.run(
        [sys.executable, ".ci/bench.py", "--backends", backend, *SMALL],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # then
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith(f"{backend} ")]
    printed = []
    for line in lines:
        section, rest = line[len(backend) :].strip().split(None, 1)
        figure = next((f for s, f in FIGURES if s == section and rest.startswith(f)), None)
        assert figure, f"unexpected line: {line}"
        printed.append((section, figure))
        tail = rest[len(figure) :]
        if "not available: " in tail:
            continue
        if "memory" in figure:
            assert re.search(r"\d+\.\d MiB = \d+\.\d+x ", tail), line
            continue
        measured = MEASURED.match(tail)
        assert measured, line
        assert (measured["ratio"] is None) == figure.startswith(
            ("floor", "create: floor", "update: floor", "feed: floor")
        ), line
    assert printed == [(s, f) for s, f in FIGURES]

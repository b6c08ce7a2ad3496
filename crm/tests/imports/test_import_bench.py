"""The import benchmark (.ci/import_bench.py) runs end to end at small N and prints every line.

It runs on this suite's backend in a throwaway database of its own (on MySQL the test
database's name plus ``_import_bench``). The figures are not checked, only that each run is
there with its seconds, rate, memory and the outcome of every row.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[3]
IS_MYSQL = settings.DATABASES["default"]["ENGINE"] == settings.MYSQL_ENGINE
ROWS = 120
RUNS = [
    ("customers, dry run", "created"),
    ("customers, import", "created"),
    ("customers, again (unchanged)", "unchanged"),
    ("opportunities, dry run", "created"),
    ("opportunities, import", "created"),
]
LINE = re.compile(
    r"^(?P<backend>SQLite|MySQL \S+) (?P<run>.+?)\s+\d+\.\d s\s+\d+ rows/s\s+peak\s+\d+ MiB\s+"
    r"file\s+\d+\.\d MiB\s+\((?P<outcome>.*)\)$"
)


def test_the_import_benchmark_prints_every_run():
    """120 rows per sheet: the five runs in order, each with its figures and every row's outcome."""
    # given
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env["IMPORT_BENCH_ROWS"] = str(ROWS)
    if IS_MYSQL:
        env["IMPORT_BENCH_MYSQL_DB"] = (os.environ.get("MYSQL_TEST_DB") or "test_intrasoft") + "_import_bench"
    else:
        env = {k: v for k, v in env.items() if not k.startswith("MYSQL_")}
    # when
    result = subprocess.run(
        [sys.executable, ".ci/import_bench.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # then
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = [match for line in result.stdout.splitlines() if (match := LINE.match(line))]
    assert [(m["run"], m["outcome"]) for m in lines] == [(run, f"{ROWS} {outcome}") for run, outcome in RUNS]
    assert {m["backend"].split()[0] for m in lines} == {"MySQL" if IS_MYSQL else "SQLite"}

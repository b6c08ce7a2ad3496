"""The replica drill (.ci/replica_drill.py --short) passes: two instances, a replica, Redis, faults.

It starts a private MariaDB primary and replica (127.0.0.1:3331/3332), Redis (6391) and two
gunicorn instances (8231, 8232), so it runs where those are free: in CI, or when asked with
RUN_REPLICA_DRILL=1. About two minutes; `make drill-replicas` is the longer run.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WANTED = os.environ.get("CI") == "true" or os.environ.get("RUN_REPLICA_DRILL") == "1"


@pytest.mark.mysql
@pytest.mark.skipif(
    not WANTED,
    reason="replica drill runs in CI or with RUN_REPLICA_DRILL=1 (ports 3331-3332, 6391, 8231-8232)",
)
def test_replica_drill_passes():
    """Read-your-writes across instances, lag and a dead replica skipped, Redis down: never a 5xx."""
    for tool in ("mariadbd", "redis-server", "wrk"):
        assert shutil.which(tool) or Path("/usr/sbin", tool).exists(), f"the replica drill needs {tool}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    result = subprocess.run(
        [sys.executable, ".ci/replica_drill.py", "--short"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    assert output.rstrip().endswith("PASS")

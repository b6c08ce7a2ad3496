"""The production server: intrasoft/gunicorn.conf.py, and gunicorn actually serving with it."""

import os
import re
import runpy
import socket
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "intrasoft" / "gunicorn.conf.py"


def _free_port() -> int:
    # A port the system picks: several checkouts (or test workers) may run this at once.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _conf(monkeypatch, **env) -> dict:
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_BIND", "GUNICORN_TIMEOUT", "HOST", "PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_workers_follow_the_cpu_count_and_timeouts_cover_the_database(monkeypatch):
    """2 x CPUs + 1 sync workers; the worker timeout outlasts a connect plus a read timeout."""
    conf = _conf(monkeypatch, DB_CONNECT_TIMEOUT="5", DB_READ_TIMEOUT="30")
    assert conf["workers"] == (os.cpu_count() or 1) * 2 + 1
    assert conf["worker_class"] == "sync"
    assert conf["timeout"] == 45
    assert conf["bind"] == "127.0.0.1:8000"
    assert "%({x-request-id}o)s" in conf["access_log_format"]


def test_the_environment_overrides_workers_threads_and_bind(monkeypatch):
    """WEB_CONCURRENCY, GUNICORN_THREADS and GUNICORN_BIND change the server without editing the file."""
    conf = _conf(monkeypatch, WEB_CONCURRENCY="3", GUNICORN_THREADS="4", GUNICORN_BIND="0.0.0.0:8000")
    assert (conf["workers"], conf["threads"], conf["worker_class"]) == (3, 4, "gthread")
    assert conf["bind"] == "0.0.0.0:8000"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        from serverkit import base_env, gunicorn
    finally:
        sys.path.pop(0)
    # /healthz (liveness) answers without the database, so an empty SQLite file will do.
    env = base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", WEB_CONCURRENCY="1")
    env.pop("MYSQL_HOST", None)
    log = tmp_path / "gunicorn.log"
    port = _free_port()
    with gunicorn(env, port, log_path=log):
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}", log=log)


def test_gunicorn_serves_with_production_settings_and_logs_the_request_id(served):
    """Under gunicorn, /healthz answers and the access log line carries the response's X-Request-ID."""
    # given
    request = urllib.request.Request(  # noqa: S310 - a loopback http URL
        f"{served.url}/healthz", headers={"X-Request-ID": "drill-0001-abc"}
    )
    # when
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        status, request_id = response.status, response.headers["X-Request-ID"]
    # then
    assert (status, request_id) == (200, "drill-0001-abc")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "drill-0001-abc" not in served.log.read_text():
        time.sleep(0.1)
    line = next(line for line in served.log.read_text().splitlines() if "drill-0001-abc" in line)
    assert re.search(r'"GET /healthz HTTP/1.1" 200 \d+ \d+ms request_id=drill-0001-abc ', line), line


def test_the_admin_answers_under_gunicorn_with_or_without_collectstatic(served):
    """DEBUG off: the admin login page is a 200 and links its stylesheet, collected or not (no 500)."""
    with urllib.request.urlopen(f"{served.url}/admin/login/", timeout=10) as response:  # noqa: S310
        status, body = response.status, response.read().decode()
    assert status == 200
    assert "admin/css/base" in body

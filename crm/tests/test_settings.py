"""Configuration comes from the environment; production refuses unsafe defaults.

The settings module is executed here with a controlled environment (``runpy``), in this
process: it is plain Python reading ``os.environ``, so there is no need to start Django in a
new process per case. The full production start-up (``check --deploy``, requests) runs in a
process of its own in test_production.py.
"""

import os
import runpy
import subprocess
import sys
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "intrasoft" / "settings.py"


def _clean_environ(**env) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MYSQL_", "DATABASE_URL", "DJANGO_"))}
    for name in ("ENVIRONMENT", "SECRET_KEY", "DEBUG", "CACHE_URL", "ALLOWED_HOSTS"):
        base.pop(name, None)
    base.update(ENV_FILE=str(ROOT / "var" / "no-such.env"))
    base.update(env)
    return base


def _settings(**env) -> dict:
    """The settings module's names, as a process started with this environment would see them."""
    # clear=True restores the whole environment afterwards, including what the .env reader set.
    with mock.patch.dict(os.environ, _clean_environ(**env), clear=True):
        values = runpy.run_path(str(SETTINGS))
    db = values["DATABASES"]["default"]
    return {
        "engine": db["ENGINE"],
        "name": str(db.get("NAME")),
        "host": db.get("HOST"),
        "options": db.get("OPTIONS", {}),
        "health": db.get("CONN_HEALTH_CHECKS"),
        "debug": values["DEBUG"],
    }


def test_embedded_sqlite_is_the_default():
    """Without MYSQL_HOST or DATABASE_URL the service runs on a SQLite file under var/."""
    db = _settings()
    assert db["engine"] == "django.db.backends.sqlite3"
    assert db["name"].endswith(os.path.join("var", "intrasoft.sqlite3"))


def test_mysql_settings_use_utf8mb4_strict_mode_and_timeouts():
    """MYSQL_* selects MySQL with utf8mb4, STRICT_TRANS_TABLES, health checks and timeouts."""
    db = _settings(MYSQL_HOST="db.internal", MYSQL_USER="crm", MYSQL_PASSWORD="pw", MYSQL_DB="crm")
    assert db["engine"] == "crm.backends.mysql"
    assert db["host"] == "db.internal"
    assert db["options"]["charset"] == "utf8mb4"
    assert "STRICT_TRANS_TABLES" in db["options"]["init_command"]
    assert db["options"]["connect_timeout"] == 5
    assert db["options"]["read_timeout"] == 30
    assert db["health"] is True


def test_database_url_wins_over_mysql_variables():
    """DATABASE_URL is an alternative to the MYSQL_* set and takes precedence."""
    db = _settings(MYSQL_HOST="ignored", DATABASE_URL="mysql://u:p@url-host:3307/crm")
    assert (db["engine"], db["host"]) == ("crm.backends.mysql", "url-host")
    assert db["options"]["charset"] == "utf8mb4"


def test_env_file_is_read_and_the_environment_wins(tmp_path):
    """Values come from the file named by ENV_FILE unless the process environment sets them."""
    env_file = tmp_path / "crm.env"
    env_file.write_text("MYSQL_HOST=from-file\nMYSQL_DB=crm\nDEBUG=false\n")
    db = _settings(ENV_FILE=str(env_file), DEBUG="true")
    assert db["host"] == "from-file"
    assert db["debug"] is True


def test_missing_secret_key_outside_local_stops_with_one_line():
    """A real start (`manage.py check`) without SECRET_KEY prints that one line and no traceback."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**_clean_environ(ENVIRONMENT="production"), "DJANGO_SETTINGS_MODULE": "intrasoft.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "SECRET_KEY must be set when ENVIRONMENT=production (only 'local' has a default)."
    ]


def _cache_backend(**env) -> str:
    with mock.patch.dict(os.environ, _clean_environ(**env), clear=True):
        cache = runpy.run_path(str(SETTINGS))["CACHES"]["default"]
    # crm.cache.FailOpenCache wraps a memory cache; the backend it wraps is what counts here.
    return cache["OPTIONS"].get("BACKEND", cache["BACKEND"])


def test_rate_limit_counters_are_per_process_only_outside_gunicorn_in_local():
    """Local runserver and manage.py count in memory; a local gunicorn shares the database cache."""
    assert _cache_backend(ENVIRONMENT="local") == "django.core.cache.backends.locmem.LocMemCache"
    # Gunicorn's master sets SERVER_SOFTWARE for the workers it forks.
    under_gunicorn = _cache_backend(ENVIRONMENT="local", SERVER_SOFTWARE="gunicorn/27.0.1")
    assert under_gunicorn == "crm.cache.DatabaseCache"


def test_an_invalid_trusted_proxy_stops_with_one_line():
    """TRUSTED_PROXIES must be addresses or networks; anything else stops start-up, naming the variable."""
    with mock.patch.dict(os.environ, _clean_environ(TRUSTED_PROXIES="10.0.0.0/24,load-balancer"), clear=True):
        try:
            runpy.run_path(str(SETTINGS))
        except SystemExit as exc:
            message = str(exc)
        else:
            message = None
    assert message == "TRUSTED_PROXIES: 'load-balancer' does not appear to be an IPv4 or IPv6 network"

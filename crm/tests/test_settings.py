"""Configuration comes from the environment; production refuses unsafe defaults."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django, json; from django.conf import settings; django.setup(); "
    "db = settings.DATABASES['default']; "
    "print(json.dumps({'engine': db['ENGINE'], 'name': str(db.get('NAME')), 'host': db.get('HOST'), "
    "'options': db.get('OPTIONS', {}), 'health': db.get('CONN_HEALTH_CHECKS'), 'debug': settings.DEBUG}))"
)


def _run(args, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MYSQL_", "DATABASE_URL", "DJANGO_"))}
    base.update(ENV_FILE=str(ROOT / "var" / "no-such.env"), DJANGO_SETTINGS_MODULE="intrasoft.settings")
    base.update(env)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120
    )


def _settings(**env):
    import json

    result = _run(["-c", PROBE], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_embedded_sqlite_is_the_default():
    """Without MYSQL_HOST or DATABASE_URL the service runs on a SQLite file under var/."""
    db = _settings()
    assert db["engine"] == "django.db.backends.sqlite3"
    assert db["name"].endswith(os.path.join("var", "intrasoft.sqlite3"))


def test_mysql_settings_use_utf8mb4_strict_mode_and_timeouts():
    """MYSQL_* selects MySQL with utf8mb4, STRICT_TRANS_TABLES, health checks and timeouts."""
    db = _settings(MYSQL_HOST="db.internal", MYSQL_USER="crm", MYSQL_PASSWORD="pw", MYSQL_DB="crm")
    assert db["engine"] == "django.db.backends.mysql"
    assert db["host"] == "db.internal"
    assert db["options"]["charset"] == "utf8mb4"
    assert "STRICT_TRANS_TABLES" in db["options"]["init_command"]
    assert db["options"]["connect_timeout"] == 5
    assert db["options"]["read_timeout"] == 30
    assert db["health"] is True


def test_database_url_wins_over_mysql_variables():
    """DATABASE_URL is an alternative to the MYSQL_* set and takes precedence."""
    db = _settings(MYSQL_HOST="ignored", DATABASE_URL="mysql://u:p@url-host:3307/crm")
    assert (db["engine"], db["host"]) == ("django.db.backends.mysql", "url-host")
    assert db["options"]["charset"] == "utf8mb4"


def test_env_file_is_read_and_the_environment_wins(tmp_path):
    """Values come from the file named by ENV_FILE unless the process environment sets them."""
    env_file = tmp_path / "crm.env"
    env_file.write_text("MYSQL_HOST=from-file\nMYSQL_DB=crm\nDEBUG=false\n")
    db = _settings(ENV_FILE=str(env_file), DEBUG="true")
    assert db["host"] == "from-file"
    assert db["debug"] is True


def test_missing_secret_key_outside_local_stops_with_one_line():
    """ENVIRONMENT=production without SECRET_KEY exits with a message naming the variable."""
    result = _run(["manage.py", "check"], ENVIRONMENT="production")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "SECRET_KEY must be set when ENVIRONMENT=production (only 'local' has a default)."
    ]


def test_check_deploy_is_clean_in_production_settings():
    """`manage.py check --deploy` reports no issue with production settings."""
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        ENVIRONMENT="production",
        SECRET_KEY="p" * 20 + "-production-secret-for-the-check-" + "q" * 20,
        ALLOWED_HOSTS="crm.intrasoft.example",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout

"""The production settings, exercised in a fresh process (settings are read once, at start).

Security headers and cookie flags, the HTTPS redirect (and the probes' exemption from it), the
database cache that the rate limits share between gunicorn workers, a clean ``check --deploy``
and former secret keys: all from one process, started once for this module.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORMER_KEY = secrets.token_urlsafe(50)

# Runs inside the production process: `check --deploy`, a signature made with the former key,
# then a fresh SQLite database, one staff user and requests through Django's test client.
# Static files come from plain storage because the manifest storage needs a collectstatic that
# has nothing to do with what is checked here; passwords use a fast hasher for the same reason
# (the production one costs a third of a second per login attempt, and the probe makes seven).
PROBE = """
import io, json, django
from django.core.management import call_command
django.setup()
from django.conf import settings
from django.core import signing
from django.test import Client
from django.test.utils import override_settings
check = io.StringIO()
call_command("check", deploy=True, fail_level="WARNING", stdout=check, stderr=check)
out = {"check_deploy": check.getvalue().strip()}
out["former_key"] = signing.loads(signing.dumps("still-valid", key=settings.SECRET_KEY_FALLBACKS[0]))
call_command("migrate", verbosity=0)
call_command("createcachetable", verbosity=0)
out["cache"] = settings.CACHES["default"]["BACKEND"]
out["max_entries"] = settings.CACHES["default"]["OPTIONS"]
plain_static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
plain = {**settings.STORAGES, "staticfiles": plain_static}
fast_hasher = ["django.contrib.auth.hashers.MD5PasswordHasher"]
with override_settings(STORAGES=plain, PASSWORD_HASHERS=fast_hasher):
    from django.contrib.auth.models import User
    User.objects.create_user("ops", password="correct-horse-battery-staple", is_staff=True)
    c = Client(raise_request_exception=False)
    r = c.get("/healthz", secure=True)
    out["headers"] = {k: r.get(k) for k in (
        "Strict-Transport-Security", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options")}
    out["http_api"] = [c.get("/api/schema/").status_code, c.get("/api/schema/").get("Location")]
    out["http_probes"] = [c.get("/healthz").status_code, c.get("/readyz").status_code]
    c.get("/admin/login/", secure=True)
    csrf = c.cookies["csrftoken"]
    r = c.post("/admin/login/?next=/admin/", {"username": "ops", "password": "correct-horse-battery-staple",
        "csrfmiddlewaretoken": csrf.value}, secure=True)
    session = c.cookies["sessionid"]
    out["login"] = r.status_code
    out["cookies"] = {name: {"secure": bool(m["secure"]), "httponly": bool(m["httponly"]),
        "samesite": m["samesite"]} for name, m in (("csrftoken", csrf), ("sessionid", session))}
    # Failed logins from a second client: counted in the database cache, 429 past THROTTLE_LOGIN.
    attacker = Client(enforce_csrf_checks=False)
    out["failed_logins"] = [attacker.post("/admin/login/", {"username": "ops", "password": "guess"},
        secure=True).status_code for _ in range(6)]
print(json.dumps(out))
"""


def _production_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MYSQL_", "DATABASE_URL", "DJANGO_"))}
    env.update(
        ENV_FILE=str(tmp_path / "no-such.env"),
        DJANGO_SETTINGS_MODULE="intrasoft.settings",
        ENVIRONMENT="production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="testserver,crm.intrasoft.example",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        CACHE_URL="",
        THROTTLE_LOGIN="5/min",
        SECRET_KEY_FALLBACKS=FORMER_KEY,
    )
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("production")
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_security_headers_are_sent_in_production(production):
    """HTTPS answers carry HSTS (one year, subdomains, preload), nosniff, a referrer policy and DENY."""
    assert production["headers"] == {
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }


def test_plain_http_is_redirected_except_for_the_probes(production):
    """Plain HTTP is sent to HTTPS; the load balancer's probes over HTTP are answered directly."""
    assert production["http_api"] == [301, "https://testserver/api/schema/"]
    # /readyz is 503 here: this throwaway database has none of the four CRM tables.
    assert production["http_probes"] == [200, 503]


def test_session_and_csrf_cookies_are_secure(production):
    """Cookies only travel over HTTPS; the session cookie is out of reach of scripts."""
    assert production["login"] == 302
    assert production["cookies"] == {
        "csrftoken": {"secure": True, "httponly": False, "samesite": "Lax"},
        "sessionid": {"secure": True, "httponly": True, "samesite": "Lax"},
    }


def test_rate_limits_use_a_cache_shared_by_all_workers(production):
    """Outside local the counters live in the database cache, so every worker sees the same count."""
    assert production["cache"] == "crm.cache.DatabaseCache"
    assert production["max_entries"] == {"MAX_ENTRIES": 10000}
    assert production["failed_logins"] == [200] * 5 + [429]


def test_check_deploy_is_clean(production):
    """`manage.py check --deploy` reports nothing with the production settings."""
    assert production["check_deploy"] == "System check identified no issues (0 silenced)."


def test_former_secret_keys_are_accepted_during_a_rotation(production):
    """SECRET_KEY_FALLBACKS keeps sessions signed with the old key valid while a new key rolls out."""
    assert production["former_key"] == "still-valid"

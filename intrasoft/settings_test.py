"""Settings for the test suite: the one settings module, minus what only makes tests slow.

pytest loads this (pyproject.toml). Everything else, database choice included, comes from
``intrasoft.settings`` and the environment exactly as in a deployment; tests that check the
production configuration itself run ``intrasoft.settings`` in a process of their own.
"""

from intrasoft.settings import *  # noqa: F403
from intrasoft.settings import DATABASES, REST_FRAMEWORK

# The production hasher (PBKDF2, a million rounds) costs about a third of a second per
# password, and nearly every test makes a user or logs one in. No test checks the hasher.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Rate-limit counters in this process's memory (cleared around every test by conftest), whatever
# CACHE_URL says: no cache table or server is needed, and no counter leaks between runs.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# No test is throttled unless it asks: the throttle classes stay as configured, so the tests of
# rate limits set a low rate themselves (on the throttle class, or THROTTLE_LOGIN's setting).
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {scope: "1000000/min" for scope in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]},
}

# One database, whatever MYSQL_REPLICA_HOSTS says: a replica alias is a test mirror (TEST MIRROR,
# the same test database on another connection), which cannot see the rows a test writes inside
# its transaction. The routing tests add a replica of their own (crm/tests/test_read_replicas.py);
# real replication is .ci/replica_drill.py.
DATABASES = {"default": DATABASES["default"]}
REPLICA_DATABASES = []

# Forecast and data-quality answers are computed afresh: most tests write rows with factories,
# which do not invalidate the cache as the services do. The tests of the cache turn it on.
REPORT_CACHE_SECONDS = 0

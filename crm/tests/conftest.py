import json
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from crm.models import LEGACY_MODELS
from crm.schema import create_legacy_tables, missing_legacy_tables
from crm.tests.caches import REDIS_TEST_URL, redis_answers, redis_caches

IS_MYSQL = settings.DATABASES["default"]["ENGINE"] == settings.MYSQL_ENGINE


def pytest_collection_modifyitems(config, items):
    if IS_MYSQL:
        return
    skip = pytest.mark.skip(reason="MySQL-only behaviour: this run uses SQLite (set MYSQL_HOST to run it)")
    for item in items:
        if "mysql" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Build the four unmanaged tables once per session.

    Migrations skip unmanaged models, so a new test database has none of them. On MySQL they
    come from docs/schema.sql (the real DDL); on SQLite from the models. This must happen at
    session level: MySQL commits DDL implicitly, which would break a test's transaction.
    """
    with django_db_blocker.unblock():
        if missing_legacy_tables(connection):
            create_legacy_tables(connection)
        else:
            # A database kept by --reuse-db: the flush after a transactional test skips unmanaged
            # tables, so rows an interrupted run committed would still be here. Children first.
            with connection.cursor() as cursor:
                for model in reversed(LEGACY_MODELS):
                    cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters live in the cache; one test's requests must not throttle the next.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def shared_redis() -> dict:
    """A CACHES setting for the Redis this machine runs, under a key prefix of this test's own;
    the test is skipped, saying why, where no Redis answers (crm/tests/caches.py)."""
    if not redis_answers():
        pytest.skip(f"no Redis answers at {REDIS_TEST_URL} (REDIS_TEST_URL)")
    return redis_caches(REDIS_TEST_URL, prefix=f"test-{uuid.uuid4().hex}")


@pytest.fixture(scope="session")
def _openapi_schema_text(tmp_path_factory) -> str:
    # Generating and validating the schema takes about a second; the schema cannot change
    # during a run, so it is made once and every test gets its own parsed copy.
    out = tmp_path_factory.mktemp("openapi") / "schema.json"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(out)
    )
    return out.read_text(encoding="utf-8")


@pytest.fixture
def openapi_schema(_openapi_schema_text) -> dict:
    """The OpenAPI schema as `manage.py spectacular --validate --fail-on-warn` writes it."""
    return json.loads(_openapi_schema_text)

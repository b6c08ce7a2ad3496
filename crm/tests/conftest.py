import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from crm.schema import create_legacy_tables, missing_legacy_tables

IS_MYSQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.mysql"


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

    Migrations skip unmanaged models, so the test database has none of them. On MySQL they
    come from docs/schema.sql (the real DDL); on SQLite from the models. This must happen at
    session level: MySQL commits DDL implicitly, which would break a test's transaction.
    """
    with django_db_blocker.unblock():
        if missing_legacy_tables(connection):
            create_legacy_tables(connection)


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters live in the cache; one test's requests must not throttle the next.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()

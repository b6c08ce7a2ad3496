"""Cache generations (crm/generations.py): what a write's invalidation costs and guarantees, per cache."""

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings

from crm.report_cache import report_cache_invalidate, report_cached
from crm.scopes import AreaScope

pytestmark = pytest.mark.django_db

TABLE = "crm_test_generation_cache"
DATABASE_CACHE = {"default": {"BACKEND": "crm.cache.DatabaseCache", "LOCATION": TABLE}}


@pytest.fixture(scope="module")
def _cache_table(django_db_setup, django_db_blocker):
    # Created outside any test's transaction: MySQL commits DDL implicitly.
    with django_db_blocker.unblock(), override_settings(CACHES=DATABASE_CACHE):
        call_command("createcachetable", verbosity=0)


@pytest.fixture
def database_cache(_cache_table, settings):
    settings.CACHES = DATABASE_CACHE
    settings.REPORT_CACHE_SECONDS = 60


@pytest.fixture
def memory_cache(settings):
    settings.REPORT_CACHE_SECONDS = 60


def _answer(value):
    """The cached report's answer, and whether it was computed (not served from the cache)."""
    computed = []
    answer = report_cached("test", (), lambda: computed.append(1) or value, scope=AreaScope.ALL)
    return answer, bool(computed)


def test_with_the_database_cache_a_write_ends_the_generation_in_one_statement_of_its_transaction(
    database_cache, django_capture_on_commit_callbacks
):
    """One DELETE inside the write's transaction and nothing left for its commit; the next read
    computes afresh."""
    _answer("before")
    captured = CaptureQueriesContext(connection)
    with django_capture_on_commit_callbacks() as callbacks, captured as queries, transaction.atomic():
        report_cache_invalidate()
    cache_statements = [q["sql"] for q in queries if TABLE in q["sql"]]
    assert [sql.split()[0] for sql in cache_statements] == ["DELETE"]
    assert callbacks == []
    assert _answer("after") == ("after", True)


def test_with_the_database_cache_a_rolled_back_write_keeps_the_cached_answer(database_cache):
    """The generation's end rolls back with the write: the answer from before is still served."""
    _answer("before")
    with pytest.raises(RuntimeError), transaction.atomic():
        report_cache_invalidate()
        raise RuntimeError("the write fails")
    assert _answer("other") == ("before", False)


def test_with_a_cache_outside_the_database_the_commit_ends_the_generation_again(
    memory_cache, django_capture_on_commit_callbacks
):
    """An answer another request stored between the write and its commit is not served after it."""
    _answer("before")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        report_cache_invalidate()
        assert _answer("computed before the commit") == ("computed before the commit", True)
    assert _answer("after") == ("after", True)

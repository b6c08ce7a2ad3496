"""Cache generations (crm/generations.py): what a write's invalidation costs and guarantees, per cache."""

from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings

from crm.generations import Generation
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


def _answer_elsewhere(value):
    """``_answer`` from another thread with its own connection: another request, outside this
    test's transaction."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_answer_elsewhere_now, value).result()


def _answer_elsewhere_now(value):
    try:
        return _answer(value)
    finally:
        connection.close()


def test_with_a_cache_outside_the_database_the_commit_ends_the_generation(
    memory_cache, django_capture_on_commit_callbacks
):
    """Until the commit other requests get the answer from before the write (and what they store
    then is not served after it); the transaction itself computes from its own writes."""
    # given an answer cached before the write
    _answer("before")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        report_cache_invalidate()
        # when: the transaction and another request read before the commit
        assert _answer("the transaction's") == ("the transaction's", True)
        assert _answer_elsewhere("elsewhere") == ("before", False)
    # then after the commit every reader computes afresh
    assert _answer_elsewhere("after") == ("after", True)
    assert _answer("again") == ("after", False)


def test_a_write_asks_a_cache_outside_the_database_nothing_until_its_commit(
    memory_cache, django_capture_on_commit_callbacks
):
    """The generation ends once, at commit. Before it the transaction's reads compute once and
    are served again from the transaction, until its next write."""
    _answer("before")
    with mock.patch.object(Generation, "_end", autospec=True, side_effect=Generation._end) as ended:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            report_cache_invalidate()
            assert ended.call_count == 0
            assert _answer("first") == ("first", True)
            assert _answer("second") == ("first", False)
            report_cache_invalidate()
            assert _answer("third") == ("third", True)
        assert ended.call_count == 2
    assert _answer("after") == ("after", True)


@pytest.mark.django_db(transaction=True)
def test_what_a_rolled_back_transaction_computed_reaches_no_one(memory_cache):
    """A read in a write's transaction is computed from data that may never commit: no other
    request gets it, and after the rollback everyone gets the answer from before."""
    _answer("before")
    with pytest.raises(RuntimeError), transaction.atomic():
        report_cache_invalidate()
        assert _answer("uncommitted") == ("uncommitted", True)
        assert _answer_elsewhere("elsewhere") == ("before", False)
        raise RuntimeError("the write fails")
    assert _answer_elsewhere("elsewhere") == ("before", False)
    assert _answer("other") == ("before", False)
    with transaction.atomic():
        assert _answer("in a later transaction") == ("before", False)

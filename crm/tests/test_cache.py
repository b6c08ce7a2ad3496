"""The shared cache (CACHE_URL=redis://...): counters shared by every process, failing open.

A cache server that does not answer is a closed port here (127.0.0.1:1): every operation
fails at once, as when Redis is stopped. The shared-counter test uses the Redis this
machine runs on 127.0.0.1:6379 (REDIS_TEST_URL), under a key prefix of its own; it is
skipped, saying why, where no Redis answers. Redis stopped and started under load, with two
instances sharing it, is .ci/replica_drill.py.
"""

import logging
import os
import runpy
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from unittest import mock

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings
from rest_framework.authtoken.models import Token
from rest_framework.throttling import UserRateThrottle

from crm.cache import DatabaseCache, FailOpenCache, RateStep, cell_rate_step, get_many_and_step
from crm.tests.caches import DEAD_REDIS, redis_caches, redis_commands
from crm.tests.factories import UserFactory
from crm.tests.test_settings import SETTINGS, _clean_environ

pytestmark = pytest.mark.django_db


@pytest.fixture
def user_client(api_client):
    user = UserFactory()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api_client


@pytest.fixture
def dead_cache(settings):
    settings.CACHES = redis_caches(DEAD_REDIS)
    yield caches["default"]
    caches["default"].close()


def _schema(client):
    return client.get("/api/schema/", HTTP_ACCEPT="application/json").status_code


# Committed, as a request finds its user (the setup's access change is not pending in a transaction).
@pytest.mark.django_db(transaction=True)
def test_throttling_fails_open_and_says_so_once_when_the_cache_is_down(user_client, dead_cache, caplog):
    """Redis down: requests over the limit still answer 200, and one warning names the cause."""
    # (user_client first: making the user invalidates the access cache, which would fail before the test.)
    # given a limit of 1/min that a working cache would enforce on the second request
    rates = {"anon": "1/min", "user": "1/min"}
    # when
    with mock.patch.object(UserRateThrottle, "THROTTLE_RATES", rates), caplog.at_level(logging.WARNING):
        statuses = [_schema(user_client) for _ in range(3)]
    # then
    assert statuses == [HTTPStatus.OK] * 3
    warnings = [r.getMessage() for r in caplog.records if r.name == "crm.cache"]
    assert len(warnings) == 1
    # The first call to fail is the access cache's read of the token, with its rate step.
    assert warnings[0].startswith("cache unavailable (get_many_and_step: ")
    assert "throttling fails open" in warnings[0]


def test_readyz_reports_the_cache_down_and_stays_ready(dead_cache, api_client):
    """A cache that does not answer is reported; the instance still takes traffic."""
    response = api_client.get("/readyz")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "status": "ok",
        "databases": {"default": {"state": "ok"}},
        "cache": "unavailable",
    }


def test_every_cache_operation_acts_as_a_miss_when_the_server_is_down(dead_cache):
    """get gives the default, set/add/delete store nothing, get_many is empty; nothing raises."""
    # given
    cache = dead_cache
    step = RateStep(key="bucket", now=1_000_000.0, interval=12.0, period=60.0)
    # when
    answers = [
        cache.get("k", "fallback"),
        cache.set("k", 1),
        cache.add("k", 1),
        cache.get_many(["k"]),
        get_many_and_step(cache, ["k"], step),
        cache.delete("k"),
        cache.get_or_set("k", 7),
        cache.has_key("k"),
    ]
    # then
    assert isinstance(cache, FailOpenCache)
    assert answers == ["fallback", None, False, {}, {}, False, 7, False]
    assert step.ahead is None  # untaken: the throttle's own step fails open too
    assert cache.unavailable()
    with pytest.raises(ValueError):
        cache.incr("k")


def test_the_rate_limit_is_one_count_for_every_process_sharing_redis(settings, user_client, shared_redis):
    """Two processes (two cache clients) count one user's requests together: the limit is not doubled."""
    # given a limit of 3/min and a key prefix no one else uses
    settings.CACHES = shared_redis
    statuses = []
    with mock.patch.object(UserRateThrottle, "THROTTLE_RATES", {"anon": "1000/min", "user": "3/min"}):
        # when: two requests through one client, then a fresh client as another process would have
        statuses += [_schema(user_client) for _ in range(2)]
        caches["default"].close()
        settings.CACHES = {"default": {**settings.CACHES["default"]}}
        statuses += [_schema(user_client) for _ in range(2)]
    # then
    assert statuses == [HTTPStatus.OK, HTTPStatus.OK, HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]


def test_concurrent_steps_of_one_bucket_on_redis_let_exactly_the_rate_through(shared_redis):
    """20 clients (as 20 workers would have) add a request to one 5/min bucket at the same instant:
    5 pass, 15 are refused, and the entry is the time the bucket empties, in microseconds."""
    # given: one client each, a prefix no one else uses, a fixed clock
    config = shared_redis["default"]
    clients = [FailOpenCache(config["LOCATION"], config) for _ in range(20)]
    barrier = threading.Barrier(20)
    now = 1_000_000.0

    def step(client):
        barrier.wait()
        return cell_rate_step(client, "bucket", now=now, interval=12.0, period=60.0)

    # when
    with ThreadPoolExecutor(max_workers=20) as pool:
        aheads = list(pool.map(step, clients))

    # then: the passed ones took the bucket 12 s further each; the refused ones stored nothing
    assert sorted(ahead for ahead in aheads if ahead <= 60) == [12.0, 24.0, 36.0, 48.0, 60.0]
    assert sorted(ahead for ahead in aheads if ahead > 60) == [72.0] * 15
    assert clients[0].get("bucket") == (1_000_000 + 60) * 1_000_000
    for client in clients:
        client.close()


def test_a_read_with_a_rate_step_is_one_round_trip_to_redis(shared_redis):
    """get_many_and_step reads the keys and steps the bucket in one command; the bucket holds the
    step as cell_rate_step leaves it, and a second step goes one interval further."""
    # given: an entry stored, a bucket not yet
    config = shared_redis["default"]
    cache = FailOpenCache(config["LOCATION"], config)
    cache.set("generation", "g1", 60)
    cache.set("entry", ("g1", {"user": 7}), 60)
    first = RateStep(key="bucket", now=1_000_000.0, interval=12.0, period=60.0)
    second = RateStep(key="bucket", now=1_000_000.0, interval=12.0, period=60.0)
    # when
    with redis_commands(cache) as sent:
        found = get_many_and_step(cache, ["generation", "entry"], first)
        again = get_many_and_step(cache, ["generation", "entry"], second)
    # then
    assert sent == ["EVALSHA", "EVALSHA"]
    assert found == again == {"generation": "g1", "entry": ("g1", {"user": 7})}
    assert (first.ahead, second.ahead) == (12.0, 24.0)
    assert cache.get("bucket") == (1_000_000 + 24) * 1_000_000
    cache.delete_many(["generation", "entry", "bucket"])
    cache.close()


def test_a_read_whose_last_key_is_not_stored_steps_nothing(shared_redis):
    """A token never checked (its entry absent) gets no bucket: made-up tokens leave nothing behind."""
    # given
    config = shared_redis["default"]
    cache = FailOpenCache(config["LOCATION"], config)
    cache.set("generation", "g1", 60)
    step = RateStep(key="bucket", now=1_000_000.0, interval=12.0, period=60.0)
    # when
    found = get_many_and_step(cache, ["generation", "entry"], step)
    # then
    assert found == {"generation": "g1"}
    assert step.ahead is None
    assert cache.get("bucket") is None
    cache.delete("generation")
    cache.close()


def test_on_the_database_cache_a_read_with_a_rate_step_is_get_many_and_leaves_the_step(db_cache):
    """Where no single statement can read and step, the read is get_many and the throttle steps."""
    # given
    db_cache.set("entry", "value", 60)
    step = RateStep(key="bucket", now=1_000_000.0, interval=12.0, period=60.0)
    # when
    with CaptureQueriesContext(connection) as queries:
        found = get_many_and_step(db_cache, ["entry"], step)
    # then
    assert found == {"entry": "value"}
    assert step.ahead is None and db_cache.get("bucket") is None
    assert len(queries) == 1


def test_the_redis_backend_keeps_one_client_that_threads_share(shared_redis):
    """Every operation of one cache goes through one redis.Redis, from any thread, and reads back."""
    config = shared_redis["default"]
    cache = FailOpenCache(config["LOCATION"], config)
    first = cache.inner._cache.get_client(write=True)

    def set_and_get(number):
        cache.set(f"key-{number}", number, 60)
        return cache.get(f"key-{number}"), cache.inner._cache.get_client(write=False)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(set_and_get, range(32)))

    assert [value for value, _ in answers] == list(range(32))
    assert {id(client) for _, client in answers} == {id(first)}
    cache.delete_many([f"key-{number}" for number in range(32)])


def test_cache_url_redis_is_djangos_backend_failing_open_with_timeouts():
    """CACHE_URL=redis://... configures crm.cache.RedisCache (Django's) inside FailOpenCache."""
    env = _clean_environ(CACHE_URL="redis://cache.internal:6379/2", CACHE_SOCKET_TIMEOUT="0.5")
    with mock.patch.dict(os.environ, env, clear=True):
        caches_setting = runpy.run_path(str(SETTINGS))["CACHES"]
    assert caches_setting == {
        "default": {
            "LOCATION": "redis://cache.internal:6379/2",
            "BACKEND": "crm.cache.FailOpenCache",
            "OPTIONS": {
                "BACKEND": "crm.cache.RedisCache",
                "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
                "RETRY_SECONDS": 2.0,
            },
        }
    }


# --- The database cache (one server's default): a set is one statement -------------------------
DB_CACHE_TABLE = "crm_test_database_cache"


@pytest.fixture(scope="module")
def _db_cache_table(django_db_setup, django_db_blocker):
    # Created outside any test's transaction: MySQL commits DDL implicitly.
    config = {"default": {"BACKEND": "crm.cache.DatabaseCache", "LOCATION": DB_CACHE_TABLE}}
    with django_db_blocker.unblock(), override_settings(CACHES=config):
        call_command("createcachetable", verbosity=0)


@pytest.fixture
def db_cache(_db_cache_table):
    cache = DatabaseCache(DB_CACHE_TABLE, {"KEY_PREFIX": uuid.uuid4().hex, "OPTIONS": {"MAX_ENTRIES": 10}})
    cache.CULL_EVERY = 1000
    return cache


def _rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {DB_CACHE_TABLE}")  # noqa: S608
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_set_outside_a_transaction_is_one_statement_and_reads_back(db_cache):
    """Set, overwrite, no expiry and expired entries behave as Django's; each set is one statement."""
    next(db_cache._sets)  # past the set that counts the table
    with CaptureQueriesContext(connection) as statements:
        db_cache.set("counter", [1.5, 2.5], 60)
        db_cache.set("counter", [3.5], 60)
        db_cache.set("forever", {"a": 1}, None)
        db_cache.set("gone", "x", -1)
    assert len(statements) == 4
    assert [s["sql"].split()[0] for s in statements] == ["INSERT"] * 4
    assert db_cache.get("counter") == [3.5]
    assert db_cache.get("forever") == {"a": 1}
    assert db_cache.get("gone", "missing") == "missing"
    assert db_cache.get_many(["counter", "forever"]) == {"counter": [3.5], "forever": {"a": 1}}


@pytest.mark.django_db(transaction=True)
def test_the_table_is_still_culled_past_max_entries(db_cache):
    """Counted on one set in CULL_EVERY, the table is culled back under MAX_ENTRIES as Django culls it."""
    db_cache.clear()
    db_cache.CULL_EVERY = 5
    for number in range(40):
        db_cache.set(f"key-{number}", number, 60)
    # Culled whenever a counted set finds more than 10 rows; at most CULL_EVERY sets in between.
    assert _rows() <= 10 + db_cache.CULL_EVERY
    assert db_cache.get("key-39") == 39


@pytest.mark.django_db(transaction=True)
def test_a_set_inside_a_transaction_is_taken_back_with_it(db_cache):
    """In a transaction Django's own set runs (its savepoint); a rollback takes the entry back."""
    db_cache.set("kept", "before", 60)

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        db_cache.set("kept", "during", 60)
        db_cache.set("new", "during", 60)
        assert db_cache.get("kept") == "during"
        raise Rollback
    assert db_cache.get("kept") == "before"
    assert db_cache.get("new", "missing") == "missing"


# --- The database cache's rate-limit step: one statement on MySQL ------------------------------
def _step(cache, key: str, now: float) -> float:
    return cell_rate_step(cache, key, now=now, interval=12.0, period=60.0)


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_the_rate_limit_step_on_the_database_cache_is_one_statement_that_reads_back(db_cache):
    """Each step is one upsert: 5 pass in a 5/min bucket, the 6th is refused and stores nothing;
    the entry is the time the bucket empties, in microseconds, as Django's get reads it."""
    # given a clock of now, so the entry's expiry is real
    now = float(round(time.time()))
    # when
    with CaptureQueriesContext(connection) as statements:
        aheads = [_step(db_cache, "bucket", now) for _ in range(6)]
    # then
    assert aheads == [12.0, 24.0, 36.0, 48.0, 60.0, 72.0]
    assert [s["sql"].split()[0] for s in statements] == ["INSERT"] * 6
    assert db_cache.get("bucket") == round((now + 60) * 1_000_000)
    # and a minute later the bucket is empty again: one interval ahead
    assert _step(db_cache, "bucket", now + 60) == 12.0


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_an_entry_the_step_did_not_write_counts_as_an_empty_bucket(db_cache):
    """A value Django's set stored under the key (an entry from before) is read as no entry."""
    now = float(round(time.time()))
    db_cache.set("bucket", [now, now], 60)
    assert _step(db_cache, "bucket", now) == 12.0
    assert db_cache.get("bucket") == round((now + 12) * 1_000_000)


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_concurrent_steps_on_the_database_cache_let_exactly_the_rate_through(db_cache):
    """12 connections (as 12 workers would have) step one 5/min bucket at the same instant:
    5 pass and 7 are refused, where a read and a write apart could let more through."""
    # given one database connection per thread, and a fixed clock
    now = float(round(time.time()))
    barrier = threading.Barrier(12)

    def step(_):
        try:
            barrier.wait()
            return _step(db_cache, "bucket", now)
        finally:
            connection.close()

    # when
    with ThreadPoolExecutor(max_workers=12) as pool:
        aheads = list(pool.map(step, range(12)))

    # then
    assert sorted(ahead for ahead in aheads if ahead <= 60) == [12.0, 24.0, 36.0, 48.0, 60.0]
    assert sorted(ahead for ahead in aheads if ahead > 60) == [72.0] * 7
    assert db_cache.get("bucket") == round((now + 60) * 1_000_000)

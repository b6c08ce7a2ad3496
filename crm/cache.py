"""The shared cache, failing open.

Rate-limit counters, read-your-writes marks and cached reports live in the cache named by
CACHE_URL (Redis in production: ``redis://host:6379/0``). The cache is never worth an error
answer: when its server does not answer, every operation acts as a miss (``get`` returns the
default, ``set`` stores nothing), so throttling lets requests through and cached results are
computed again, and one warning per ``CACHE_RETRY_SECONDS`` says so in the log. For that long
the cache is not asked at all, so a server that hangs costs one timeout
(``CACHE_SOCKET_TIMEOUT``), not one per request. ``/readyz`` reports it.

``FailOpenCache`` wraps a Django backend (``OPTIONS["BACKEND"]`` and its own ``LOCATION``
and ``OPTIONS``); settings.py puts it around every ``CACHE_URL`` but the database cache,
whose errors are the primary's (answered 503 anyway) and whose table ``createcachetable``
must recognise.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import logging
import math
import pickle
import threading
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient
from django.db import DatabaseError, connections, router
from django.utils.module_loading import import_string

logger = logging.getLogger("crm.cache")

try:
    from redis.exceptions import RedisError
except ImportError:  # the redis package is needed only for redis:// caches
    RedisError = OSError

CACHE_ERRORS = (RedisError, ConnectionError, TimeoutError, OSError)
_MISSING = object()


class FailOpenCache(BaseCache):
    def __init__(self, location, params):
        options = dict(params.get("OPTIONS", {}))
        inner_backend = options.pop("BACKEND")
        inner_options = options.pop("OPTIONS", {})
        self.retry_seconds = float(options.pop("RETRY_SECONDS", 2.0))
        super().__init__({**params, "OPTIONS": {}})
        inner_params = {k: v for k, v in params.items() if k not in ("BACKEND", "LOCATION", "OPTIONS")}
        self.inner = import_string(inner_backend)(location, {**inner_params, "OPTIONS": inner_options})
        self._down_until = 0.0
        self.last_failure = float("-inf")  # time.monotonic() of the last failed operation
        self._lock = threading.Lock()

    # --- failing open ---
    def unavailable(self) -> bool:
        """The last operation failed and the cache is being skipped."""
        return time.monotonic() < self._down_until

    def _failed(self, operation: str, exc: Exception) -> None:
        with self._lock:
            first = not self.unavailable()
            self.last_failure = time.monotonic()
            self._down_until = self.last_failure + self.retry_seconds
        if first:
            logger.warning(
                "cache unavailable (%s: %s): throttling fails open and nothing is cached for %.0fs",
                operation,
                exc,
                self.retry_seconds,
            )

    def _call(self, operation: str, fallback, *args, **kwargs):
        if self.unavailable():
            return fallback
        try:
            return getattr(self.inner, operation)(*args, **kwargs)
        except CACHE_ERRORS as exc:
            self._failed(operation, exc)
            return fallback

    def ping(self) -> bool:
        """Ask the cache server now, whatever the last operation did (for /readyz)."""
        try:
            client = getattr(self.inner, "_cache", None)
            if client is not None and hasattr(client, "get_client"):
                client.get_client(write=False).ping()  # Django's Redis backend
            else:
                self.inner.get("crm:readyz")
        except CACHE_ERRORS as exc:
            self._failed("ping", exc)
            return False
        with self._lock:
            self._down_until = 0.0
        return True

    # --- the cache API ---
    def get(self, key, default=None, version=None):
        return self._call("get", default, key, default, version=version)

    def set(self, key, value, timeout=_MISSING, version=None):
        kwargs = {"version": version} if timeout is _MISSING else {"timeout": timeout, "version": version}
        return self._call("set", None, key, value, **kwargs)

    def add(self, key, value, timeout=_MISSING, version=None):
        kwargs = {"version": version} if timeout is _MISSING else {"timeout": timeout, "version": version}
        return self._call("add", False, key, value, **kwargs)

    def touch(self, key, timeout=_MISSING, version=None):
        kwargs = {"version": version} if timeout is _MISSING else {"timeout": timeout, "version": version}
        return self._call("touch", False, key, **kwargs)

    def delete(self, key, version=None):
        return self._call("delete", False, key, version=version)

    def has_key(self, key, version=None):
        return self._call("has_key", False, key, version=version)

    def get_many(self, keys, version=None):
        return self._call("get_many", {}, keys, version=version)

    def set_many(self, data, timeout=_MISSING, version=None):
        kwargs = {"version": version} if timeout is _MISSING else {"timeout": timeout, "version": version}
        return self._call("set_many", list(data), data, **kwargs)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", None, keys, version=version)

    def incr(self, key, delta=1, version=None):
        if self.unavailable():
            raise ValueError(f"Key '{key}' not found (cache unavailable)")
        try:
            return self.inner.incr(key, delta, version=version)
        except CACHE_ERRORS as exc:
            self._failed("incr", exc)
            raise ValueError(f"Key '{key}' not found (cache unavailable)") from exc

    def decr(self, key, delta=1, version=None):
        return self.incr(key, -delta, version=version)

    def cell_rate_step(self, key, *, now: float, interval: float, period: float) -> float:
        """``cell_rate_step`` below, in one step where the backend has one (RedisCache); a cache
        that does not answer lets the request through."""
        if not hasattr(self.inner, "cell_rate_step"):
            return _cell_rate_step_in_two(self, key, now=now, interval=interval, period=period)
        return self._call("cell_rate_step", interval, key, now=now, interval=interval, period=period)

    def get_many_and_step(self, keys, step: RateStep, version=None):
        """``get_many_and_step`` below, in one round trip where the backend has it (RedisCache);
        a cache that does not answer finds nothing and leaves the step untaken."""
        if not hasattr(self.inner, "get_many_and_step"):
            return self.get_many(keys, version=version)
        return self._call("get_many_and_step", {}, keys, step, version=version)

    def clear(self):
        return self._call("clear", None)

    def close(self, **kwargs):
        return self._call("close", None, **kwargs)


# The bucket of crm.throttling.CellRateMixin, read, moved and written in one step on the Redis
# server, so two workers (or instances) counting one caller at the same instant cannot both read
# the old value and let one request too many through. Times are whole microseconds: a Lua
# number is a double, exact for them, and Django's Redis backend reads a stored integer as an
# int. A value that is not a number (an entry from before) counts as an empty bucket.
_CELL_RATE_STEP_LUA = """
local function step(key, now, interval, period)
  local empty_at = math.max(tonumber(redis.call('GET', key) or '') or 0, now) + interval
  local ahead = empty_at - now
  if ahead <= period then
    redis.call('SET', key, string.format('%.0f', empty_at), 'PX', math.ceil(ahead / 1000))
  end
  return string.format('%.0f', ahead)
end
"""
_CELL_RATE_LUA = (
    _CELL_RATE_STEP_LUA
    + """
return step(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
"""
)
# get_many of every key but the last, and the step of the bucket that is the last key when the
# last key read is stored; the step's result follows the values (false, a nil reply, if none).
_GET_MANY_AND_STEP_LUA = (
    _CELL_RATE_STEP_LUA
    + """
local read = #KEYS - 1
local found = redis.call('MGET', unpack(KEYS, 1, read))
local ahead = false
if found[read] then
  ahead = step(KEYS[#KEYS], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
end
found[read + 1] = ahead
return found
"""
)


@dataclasses.dataclass
class RateStep:
    """A ``cell_rate_step`` asked for ahead of its throttle, to be taken in the same round trip
    as a read (``get_many_and_step``); ``ahead`` is its result once taken, None until then."""

    key: str
    now: float
    interval: float
    period: float
    ahead: float | None = None


def _microseconds(seconds: float) -> int:
    return round(seconds * 1_000_000)


def _stored_empty_at(cache, key) -> int:
    # The entry of a bucket, whole microseconds; anything else (none, an entry from before)
    # is an empty bucket.
    stored = cache.get(key)
    return stored if isinstance(stored, int) else 0


def _cell_rate_step_in_two(cache, key, *, now: float, interval: float, period: float) -> float:
    # A get and a set: two callers at the same instant may both pass where one should.
    now_us = _microseconds(now)
    empty_at = max(_stored_empty_at(cache, key), now_us) + _microseconds(interval)
    ahead = empty_at - now_us
    if ahead <= _microseconds(period):
        cache.set(key, empty_at, math.ceil(ahead / 1_000_000))
    return ahead / 1e6


def cell_rate_step(cache, key: str, *, now: float, interval: float, period: float) -> float:
    """One request more in the bucket at ``key``: the seconds from ``now`` until it is empty.

    The entry is the time (whole microseconds) the bucket will be empty; the request adds
    ``interval`` to it (from ``now`` if it is already empty). A result above ``period`` means
    the request is refused, and then nothing is stored. The entry expires when the bucket
    empties: from then on, no entry is the same as one. On Redis (RedisCache, inside
    FailOpenCache or not) this is one atomic script, on the database cache on MySQL one
    statement (DatabaseCache); elsewhere a get and a set.
    """
    step = getattr(cache, "cell_rate_step", None)
    if step is not None:
        return step(key, now=now, interval=interval, period=period)
    return _cell_rate_step_in_two(cache, key, now=now, interval=interval, period=period)


def cell_rate_ahead(cache, key: str, *, now: float) -> float:
    """The seconds from ``now`` until the bucket at ``key`` is empty (0 if it is), read
    without a step: what ``cell_rate_step`` would add to."""
    return max(_stored_empty_at(cache, key) - _microseconds(now), 0) / 1e6


def get_many_and_step(cache, keys: list[str], step: RateStep) -> dict:
    """``cache.get_many(keys)``, and ``step`` taken when the last of ``keys`` is stored.

    For an API request, whose token entry and rate-limit bucket would be two round trips to
    Redis one after the other (crm.throttling.token_rate_step): on Redis one script reads the
    keys and, when the token was checked before, steps its bucket, filling ``step.ahead``. On
    other caches this is ``get_many`` alone and the step is left to its throttle. Nothing is
    stepped for a key never stored, so made-up tokens leave no buckets behind.
    """
    read = getattr(cache, "get_many_and_step", None)
    if read is None:
        return cache.get_many(keys)
    return read(keys, step)


def cache_failed_within(cache, seconds: float) -> bool:
    """The cache failed in the last ``seconds`` (only a FailOpenCache can tell; others are taken to work)."""
    last_failure = getattr(cache, "last_failure", None)
    if last_failure is None:
        return False
    return time.monotonic() - last_failure < max(seconds, getattr(cache, "retry_seconds", 0))


def wrap(config: dict, *, retry_seconds: float) -> dict:
    """A CACHES entry with FailOpenCache around the backend that ``config`` describes."""
    inner_options = dict(config.get("OPTIONS", {}))
    outer = {k: v for k, v in config.items() if k not in ("BACKEND", "OPTIONS")}
    return {
        **outer,
        "BACKEND": "crm.cache.FailOpenCache",
        "OPTIONS": {"BACKEND": config["BACKEND"], "OPTIONS": inner_options, "RETRY_SECONDS": retry_seconds},
    }


class RedisCacheClient(DjangoRedisCacheClient):
    """Django's Redis client, keeping one ``redis.Redis`` per connection pool.

    Django's builds a new ``redis.Redis`` for every operation, and each one fills its table of
    about 170 reply callbacks: 0.1-0.2 ms per cache call, two calls per API request. A
    ``redis.Redis`` is safe to share between threads (each command takes a connection from
    the pool), so one per pool is enough.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class RedisCache(DjangoRedisCache):
    """Django's Redis cache backend with the client above, and the rate-limit step as one script."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
        # redis-py's handles: EVALSHA, loaded again after a restart.
        self._cell_rate_script = None
        self._get_many_and_step_script = None

    def cell_rate_step(self, key, *, now: float, interval: float, period: float, version=None) -> float:
        """``cell_rate_step`` as one atomic script on the server: one round trip."""
        client = self._cache.get_client(key, write=True)
        if self._cell_rate_script is None:
            self._cell_rate_script = client.register_script(_CELL_RATE_LUA)
        ahead = self._cell_rate_script(
            keys=[self.make_and_validate_key(key, version=version)],
            args=[_microseconds(now), _microseconds(interval), _microseconds(period)],
            client=client,
        )
        return int(ahead) / 1e6

    def get_many_and_step(self, keys, step: RateStep, version=None) -> dict:
        """``get_many_and_step`` as one script on the server: one round trip."""
        client = self._cache.get_client(write=True)
        if self._get_many_and_step_script is None:
            self._get_many_and_step_script = client.register_script(_GET_MANY_AND_STEP_LUA)
        # make_key, not make_and_validate_key: the keys are the service's own (digests and
        # fixed names), and the check walks every character of each (memcached's limits).
        made = {self.make_key(key, version=version): key for key in keys}
        bucket = self.make_key(step.key, version=version)
        *values, ahead = self._get_many_and_step_script(
            keys=[*made, bucket],
            args=[_microseconds(step.now), _microseconds(step.interval), _microseconds(step.period)],
            client=client,
        )
        if ahead is not None:
            step.ahead = int(ahead) / 1e6
        loads = self._cache._serializer.loads
        return {made[key]: loads(value) for key, value in zip(made, values, strict=True) if value is not None}


class DatabaseCache(DjangoDatabaseCache):
    """Django's database cache, with a ``set`` of one statement outside a transaction.

    Django's ``set`` counts the table (to cull it past ``max_entries``), then reads the key and
    updates or inserts it in a transaction of its own: five statements, paid by every API
    request for its rate-limit counter (more than the query of a page of 50 costs). Here a set
    outside a transaction is one upsert (MySQL and MariaDB ``ON DUPLICATE KEY UPDATE``, SQLite
    ``ON CONFLICT``), and the table is counted on one set in ``CULL_EVERY`` per process, so
    ``max_entries`` may be passed by that many entries per process before a cull. Inside a
    transaction, and on other databases, Django's own code runs: its savepoint keeps a failed
    write from breaking the caller's transaction.
    """

    CULL_EVERY = 50

    def __init__(self, table, params):
        super().__init__(table, params)
        self._sets = itertools.count()

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        if connection.vendor not in ("mysql", "sqlite") or connection.in_atomic_block:
            return super().set(key, value, timeout, version=version)
        key = self.make_and_validate_key(key, version=version)
        timeout = self.get_backend_timeout(timeout)
        zone = UTC if settings.USE_TZ else None
        expires = datetime.max if timeout is None else datetime.fromtimestamp(timeout, tz=zone)
        expires = connection.ops.adapt_datetimefield_value(expires.replace(microsecond=0))
        # Text, as Django's own set stores it (the column is text; refs Django #19274).
        encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
        quote = connection.ops.quote_name
        table, key_column = quote(self._table), quote("cache_key")
        value_column, expires_column = quote("value"), quote("expires")
        # Identifiers quoted by the backend, values bound as parameters.
        columns = f"{key_column}, {value_column}, {expires_column}"
        insert = f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s) "  # noqa: S608
        if connection.vendor == "mysql":
            # The values again as parameters: VALUES() in this clause is deprecated in MySQL 8.
            upsert = f"ON DUPLICATE KEY UPDATE {value_column} = %s, {expires_column} = %s"
            params = [key, encoded, expires, encoded, expires]
        else:
            upsert = (
                f"ON CONFLICT ({key_column}) DO UPDATE SET {value_column} = excluded.{value_column}, "
                f"{expires_column} = excluded.{expires_column}"
            )
            params = [key, encoded, expires]
        with connection.cursor() as cursor:
            if next(self._sets) % self.CULL_EVERY == 0:
                cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
                count = cursor.fetchone()[0]
                if count > self._max_entries:
                    now = datetime.now(tz=zone).replace(microsecond=0)
                    self._cull(db, cursor, now, count)
            try:
                cursor.execute(insert + upsert, params)
            except DatabaseError:
                # As Django's set: the write that fails is not the request's error (the count
                # and the cull before it are, as there).
                return

    def cell_rate_step(self, key, *, now: float, interval: float, period: float, version=None) -> float:
        """``cell_rate_step`` as one statement on MySQL and MariaDB, outside a transaction.

        The get and set of ``_cell_rate_step_in_two`` are a SELECT and an upsert, and two
        workers stepping one caller at the same instant may both read the old entry and both
        pass. Here one ``INSERT ... ON DUPLICATE KEY UPDATE`` reads, moves and writes the entry
        under the row's lock, so concurrent steps are counted one after the other, in one
        round trip. The entry is stored as Django's ``get`` reads it (a base64 pickle of the
        int, in pickle's text form ``I<digits>\\n.``, which SQL can write and parse); any other
        value counts as an empty bucket, as on Redis. The statement hands the seconds ahead
        back through ``LAST_INSERT_ID(expr)``, which the server returns with its answer
        (``cursor.lastrowid``); a new row (no ``LAST_INSERT_ID`` call) is one ``interval``
        ahead. The entry expires a ``period`` after ``now``: by then the bucket is empty.
        """
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        if connection.vendor != "mysql" or connection.in_atomic_block:
            return _cell_rate_step_in_two(self, key, now=now, interval=interval, period=period)
        made_key = self.make_and_validate_key(key, version=version)
        now_us, interval_us, period_us = (_microseconds(value) for value in (now, interval, period))
        zone = UTC if settings.USE_TZ else None
        expires = datetime.fromtimestamp(math.ceil(now + period), tz=zone)
        expires = connection.ops.adapt_datetimefield_value(expires)
        quote = connection.ops.quote_name
        table, value = quote(self._table), quote("value")
        stored = _STORED_MICROSECONDS.format(value=value)
        empty_at = f"(GREATEST({stored}, %s) + %s)"
        ahead = f"({empty_at} - %s)"
        position = [now_us, interval_us, now_us]
        statement = (
            f"INSERT INTO {table} ({quote('cache_key')}, {value}, {quote('expires')}) "  # noqa: S608
            "VALUES (%s, %s, %s) ON DUPLICATE KEY UPDATE "
            # expires first: both assignments read the entry as it was.
            f"{quote('expires')} = IF(LAST_INSERT_ID({ahead}) <= %s, %s, {quote('expires')}), "
            f"{value} = IF({ahead} <= %s, TO_BASE64(CONCAT('I', {empty_at}, CHAR(10), '.')), {value})"
        )
        params = [made_key, _pickled_int(now_us + interval_us), expires]
        params += [*position, period_us, expires, *position, period_us, now_us, interval_us]
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                updated, ahead_us = cursor.rowcount, cursor.lastrowid
        except DatabaseError:
            # As the set above: the counter's write is not the request's error.
            return interval
        if ahead_us:
            return ahead_us / 1e6
        if updated == 1:
            return interval  # a new entry: the bucket was empty
        # An update whose LAST_INSERT_ID did not come back (no server here does that): read it.
        stored_us = self.get(key, version=version)
        return (stored_us - now_us) / 1e6 if isinstance(stored_us, int) else interval


# The entry's microseconds, parsed from the base64 pickle ``I<digits>\n.``; 0 for anything else.
_STORED_MICROSECONDS = (
    "IF(LEFT(FROM_BASE64({value}), 1) = 'I' AND RIGHT(FROM_BASE64({value}), 2) = CONCAT(CHAR(10), '.'), "
    "CAST(SUBSTRING(FROM_BASE64({value}), 2, LENGTH(FROM_BASE64({value})) - 3) AS UNSIGNED), 0)"
)


def _pickled_int(number: int) -> str:
    # Pickle's text form of an int, as the statement above writes it; pickle.loads reads it.
    return base64.b64encode(f"I{number}\n.".encode()).decode("ascii")

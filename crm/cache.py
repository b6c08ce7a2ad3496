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

import logging
import threading
import time

from django.core.cache.backends.base import BaseCache
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

    def clear(self):
        return self._call("clear", None)

    def close(self, **kwargs):
        return self._call("close", None, **kwargs)


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

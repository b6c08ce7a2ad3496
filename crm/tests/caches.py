"""The caches tests configure: the Redis this machine runs, or a cache server that does not answer.

The machine's Redis is 127.0.0.1:6379 (REDIS_TEST_URL), shared with other runs: each test
takes a key prefix of its own (the ``shared_redis`` fixture of conftest.py). A server that
does not answer is a closed port (127.0.0.1:1): every operation fails at once, as when Redis
is stopped.
"""

import contextlib
import os
from unittest import mock

import redis

from crm.cache import wrap

DEAD_REDIS = "redis://127.0.0.1:1/0"
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")


def redis_caches(url: str, prefix: str = "") -> dict:
    """A CACHES setting with Redis at ``url`` as the service configures it (failing open)."""
    return {
        "default": wrap(
            {
                "BACKEND": "crm.cache.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": prefix,
                "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
            },
            retry_seconds=60,
        )
    }


def redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@contextlib.contextmanager
def redis_commands(cache):
    """A list that fills with the name of every command ``cache`` (a FailOpenCache around
    crm.cache.RedisCache) sends to Redis inside the block."""
    client = cache.inner._cache.get_client(write=True)
    sent = []
    send = client.execute_command

    def counted(*args, **kwargs):
        sent.append(args[0])
        return send(*args, **kwargs)

    with mock.patch.object(client, "execute_command", counted):
        yield sent

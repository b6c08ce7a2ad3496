"""Answers kept in Django's cache under a shared *generation*, for the report and access caches.

An entry is stored with the generation current when it was computed and used only while
that generation lasts; invalidating ends it, and the next read starts a new one. The
generation lives in the same cache as the entries, so with a shared cache (the database
cache, Redis) an invalidation reaches every worker on its next read.
"""

import uuid
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import DEFAULT_DB_ALIAS, router, transaction

T = TypeVar("T")


class Generation:
    """One generation key and the entries that depend on it."""

    def __init__(self, key: str):
        self.key = key

    def cached(self, key: str, timeout: float, compute: Callable[[], T]) -> T:
        """The entry under ``key`` if stored in the current generation, else ``compute()`` stored."""
        # One round trip: the current generation and the stored entry with its generation.
        found = cache.get_many([self.key, key])
        generation = found.get(self.key)
        stored = found.get(key)
        if generation is not None and stored is not None and stored[0] == generation:
            return stored[1]
        if generation is None:
            generation = uuid.uuid4().hex
            # add(): a generation another worker has just set wins over this one.
            if not cache.add(self.key, generation, timeout=None):
                generation = cache.get(self.key, generation)
        # Computed after the generation was read: a write that commits meanwhile starts a new
        # generation, so this entry, possibly from before the write, is never used after it.
        value = compute()
        cache.set(key, (generation, value), timeout=timeout)
        return value

    def _end(self) -> None:
        # Deleted, not replaced: the next read starts a new generation (``cached``), and a
        # delete is one statement on the database cache where a set is five (count, savepoint,
        # select, update, release). Writes outnumber report reads: the read pays, once.
        cache.delete(self.key)

    def invalidate(self) -> None:
        """End the current generation now and again when the current transaction commits.

        Now: a read later in the same transaction must not get an entry from before the write.
        At commit: an entry another request computed meanwhile, from the data as it was before
        this commit, must not survive it. One delete does both outside a transaction (the write
        it follows has committed) and with the database cache on the transaction's database:
        there the delete is part of the transaction, so other requests see it exactly when the
        data commits, and a rollback takes it back with the data.
        """
        self._end()
        if transaction.get_connection().in_atomic_block and not _cache_commits_with_the_data():
            transaction.on_commit(self._end)


def _cache_commits_with_the_data() -> bool:
    backend = caches[DEFAULT_CACHE_ALIAS]
    return (
        isinstance(backend, DatabaseCache)
        and router.db_for_write(backend.cache_model_class) == DEFAULT_DB_ALIAS
    )

"""Answers kept in Django's cache under a shared *generation*, for the report and access caches.

An entry is stored with the generation current when it was computed and used only while
that generation lasts; invalidating ends it, and the next read starts a new one. The
generation lives in the same cache as the entries, so with a shared cache (the database
cache, Redis) an invalidation reaches every worker on its next read.
"""

import threading
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import DEFAULT_DB_ALIAS, router, transaction

from .cache import RateStep, get_many_and_step

T = TypeVar("T")


class Generation:
    """One generation key and the entries that depend on it."""

    def __init__(self, key: str):
        self.key = key

    def cached(
        self, key: str, timeout: float, compute: Callable[[], T], *, step: RateStep | None = None
    ) -> T:
        """The entry under ``key`` if stored in the current generation, else ``compute()`` stored.

        ``step``: a rate-limit step to take in the same round trip where the cache can
        (crm.cache.get_many_and_step), when an entry is stored under ``key``.

        In a transaction that has ended this generation (ended in the cache at its commit),
        entries come from the transaction itself, never from the cache or into it: the cache
        holds answers from before the transaction's writes, and what the transaction computes
        from its writes must reach no other request before they commit, nor ever if they
        roll back.
        """
        own = self._ending_entries()
        if own is not None:
            if key not in own:
                own[key] = compute()
            return own[key]
        # One round trip: the current generation and the stored entry with its generation.
        keys = [self.key, key]
        found = cache.get_many(keys) if step is None else get_many_and_step(cache, keys, step)
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
        """End the current generation: at once outside a transaction, at its commit in one.

        At commit: until then other requests see the data from before the write, and an entry
        they compute from it must not survive the commit. Meanwhile the transaction keeps its
        own entries (``cached``), so a write costs no cache round trip before its commit. With
        the database cache on the transaction's database the delete is part of the transaction
        instead: other requests see it exactly when the data commits, and a rollback takes it
        back with the data.
        """
        if not transaction.get_connection().in_atomic_block or _cache_commits_with_the_data():
            self._end()
            return

        # A callback of its own per invalidation: a savepoint rolled back drops only its own.
        def committed():
            _ending().pop(self.key, None)
            self._end()

        callbacks, entries = _ending().setdefault(self.key, ([], {}))
        callbacks.append(committed)
        entries.clear()  # computed before this write
        transaction.on_commit(committed)

    def _ending_entries(self) -> dict | None:
        """The running transaction's own entries of this generation, if it has ended it: one of
        its callbacks to end it in the cache still waits for the commit. A rollback (of the
        transaction, or of the savepoint an invalidation ran in) drops the callback, and the
        entries go with it."""
        ending = _ending().get(self.key)
        if ending is None:
            return None
        callbacks, entries = ending
        connection = transaction.get_connection()
        if connection.in_atomic_block:
            waiting = {id(entry[1]) for entry in connection.run_on_commit}
            if any(id(callback) in waiting for callback in callbacks):
                return entries
        del _ending()[self.key]
        return None


# Per thread, as Django's connections are: for each generation the running transaction has
# ended, the on_commit callbacks that will end it in the cache and the transaction's own entries.
_pending = threading.local()


def _ending() -> dict[str, tuple[list[Callable[[], None]], dict]]:
    try:
        return _pending.generations
    except AttributeError:
        _pending.generations = {}
        return _pending.generations


def _cache_commits_with_the_data() -> bool:
    backend = caches[DEFAULT_CACHE_ALIAS]
    return (
        isinstance(backend, DatabaseCache)
        and router.db_for_write(backend.cache_model_class) == DEFAULT_DB_ALIAS
    )

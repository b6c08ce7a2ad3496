"""The forecast and the data-quality report, kept in Django's cache between identical requests.

Both read the whole opportunity table (about a second at 1M rows), while the answer only
changes when the data does. An answer is stored under its parameters together with the
cache's current *generation*; every write through the services (opportunities, customers,
revenue rows: the API, workbook imports) and every admin write of a customer or a revenue
row starts a new generation (at the write and again at its commit), so the next request
computes afresh. Writes made by other tools directly in MySQL are not seen by the service:
an answer is kept at most ``REPORT_CACHE_SECONDS`` (default 60; 0 turns the cache off),
which bounds their staleness.

The generation lives in the same cache as the answers, so invalidation reaches every worker
when the cache is shared (the database cache outside local, or Redis); with the per-process
memory cache of a local run, another worker's write is seen within REPORT_CACHE_SECONDS.

Every key names the caller's scope (``AreaScope.cache_key()``: ``all``, ``France+UK``, ...):
an answer computed for one set of areas is never served to a caller of another, so a
France-only reader cannot get the answer an ALL reader left in the cache, nor the reverse.
"""

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from .generations import Generation
from .scopes import AreaScope

T = TypeVar("T")

_GENERATION = Generation("crm:reports:generation")


def report_key(name: str, scope: AreaScope, params: tuple) -> str:
    """The cache key of report ``name`` for ``scope`` and ``params``."""
    return f"crm:reports:{name}:{scope.cache_key()}:" + ":".join(str(p) for p in params)


def report_cached(name: str, params: tuple, compute: Callable[[], T], *, scope: AreaScope) -> T:
    """``compute()``'s answer for ``scope`` and ``params``, from the cache when nothing was written since.

    ``scope`` is the one ``compute`` answers for: it is part of the key.
    """
    timeout = settings.REPORT_CACHE_SECONDS
    if timeout <= 0:
        return compute()
    key = report_key(name, scope, params)
    return _GENERATION.cached(key, timeout, compute)


def report_cache_invalidate() -> None:
    """End the current generation for this transaction and for everyone at its commit (crm/generations.py)."""
    _GENERATION.invalidate()

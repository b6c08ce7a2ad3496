"""Who and what is writing: a context the change history reads when it records a write.

Services do not take a ``source`` argument; the door that calls them says once, around
the calls, where the writes come from::

    with write_context(source="import", reference=str(run.pk), actor=user):
        customer_create(...)

``write_context_current()`` answers the innermost such block (or None outside any). The
value lives in a ContextVar, so concurrent requests in threads or tasks never see each
other's context.
"""

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WriteContext:
    source: str  # "api", "admin", "import", ...
    reference: str | None = None  # e.g. the import's id
    actor: Any = None  # the user on whose behalf the writes happen


_current: contextvars.ContextVar[WriteContext | None] = contextvars.ContextVar(
    "crm_write_context", default=None
)


@contextmanager
def write_context(*, source: str, reference: str | None = None, actor: Any = None) -> Iterator[WriteContext]:
    context = WriteContext(source=source, reference=reference, actor=actor)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def write_context_current() -> WriteContext | None:
    return _current.get()

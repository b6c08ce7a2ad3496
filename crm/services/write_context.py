"""Who and what is writing: a context the change history reads when it records a write.

Services do not take a ``source`` argument; the door that calls them says once, around
the calls, where the writes come from::

    with write_context(source="import", actor=user.get_username(), import_id=str(run.pk)):
        customer_create(...)

``write_context_current()`` answers the innermost such block (or None outside any). The
value lives in a ContextVar, so concurrent requests in threads or tasks never see each
other's context. The names and arguments are those the change history reads (source,
actor as a username, import_id), so its recording can take this context over as it is.
"""

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class WriteContext:
    source: str  # "api", "admin", "import", ...
    actor: str | None = None  # the username on whose behalf the writes happen
    import_id: str | None = None  # the workbook import (ImportRun) the writes belong to


_current: contextvars.ContextVar[WriteContext | None] = contextvars.ContextVar(
    "crm_write_context", default=None
)


@contextmanager
def write_context(
    *, source: str, actor: str | None = None, import_id: str | None = None
) -> Iterator[WriteContext]:
    context = WriteContext(source=source, actor=actor, import_id=import_id)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def write_context_current() -> WriteContext | None:
    return _current.get()

"""Who is writing, through which door, in which request or import: read by the change history.

A service does not take the actor, the door or the request id as arguments: whoever opens
the door says so once, around the calls, and ``change_record`` (crm/services/history.py)
reads it when it records a write:

- ``crm.middleware.WriteContextMiddleware``: every request, source ``api`` or ``admin``
  (by path), the request's ``X-Request-ID``, and the user the request authenticated as
  (read when the entry is written, since DRF authenticates tokens inside the view);
- ``manage.py shell``: source ``shell``;
- outside any block (management commands, cron jobs, scripts): source ``command``, no actor.

A caller with more to say wraps its writes in ``write_context``; what it does not give is
inherited from the enclosing block. The workbook import::

    with write_context(source="import", actor=user.get_username(), import_id=str(run.pk)):
        customer_create(...)

records every row with source ``import`` and that import id, and, when the import runs
inside a request, with that request's id. ``write_context_current()`` answers the innermost
block (None outside any). The value lives in a ContextVar, so concurrent requests in
threads or tasks never see each other's context.
"""

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator
from typing import Any

from ..models import Change


@dataclasses.dataclass(frozen=True)
class WriteContext:
    """Who writes, through which door, in which request or import."""

    source: str = Change.Source.COMMAND
    # A username; when None, the user ``request`` authenticated as (if any).
    actor: str | None = None
    request_id: str | None = None
    import_id: str | None = None
    # The Django request, read lazily: its user is known only once the view authenticated it.
    request: Any = dataclasses.field(default=None, repr=False, compare=False)

    def actor_name(self) -> str | None:
        if self.actor is not None:
            return self.actor
        user = getattr(self.request, "user", None)
        if user is not None and user.is_authenticated:
            return user.get_username()
        return None


# None: the default context (source "command", no actor).
_write_context: contextvars.ContextVar[WriteContext | None] = contextvars.ContextVar(
    "crm_write_context", default=None
)
_INHERIT: Any = object()


@contextlib.contextmanager
def write_context(
    *,
    source: str = _INHERIT,
    actor: str | None = _INHERIT,
    request_id: str | None = _INHERIT,
    import_id: str | None = _INHERIT,
    request: Any = _INHERIT,
) -> Iterator[WriteContext]:
    """Record the writes inside the block with these details; the others are inherited."""
    given = {
        name: value
        for name, value in {
            "source": source,
            "actor": actor,
            "request_id": request_id,
            "import_id": import_id,
            "request": request,
        }.items()
        if value is not _INHERIT
    }
    if "source" in given and given["source"] not in Change.Source.values:
        raise ValueError(f"unknown source {given['source']!r}; expected one of: {', '.join(Change.Source)}")
    context = dataclasses.replace(write_context_current() or WriteContext(), **given)
    token = _write_context.set(context)
    try:
        yield context
    finally:
        _write_context.reset(token)


def write_context_current() -> WriteContext | None:
    return _write_context.get()

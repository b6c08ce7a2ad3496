"""Change history: who wrote what, when and through which door; the change feed's positions.

Recording. Every write service calls ``change_record`` once, right after its write and
inside its own ``@transaction.atomic``, so the entry commits or rolls back with the write:
a broken rule, a stale If-Match or a database error leaves no entry. An update that
changes nothing records nothing (``change_record`` returns None for an empty diff). The
cost is one INSERT per write.

Who and where. A service does not take the actor, the door or the request id as arguments:
they come from the write context (crm/services/write_context.py), set by whoever opened the
door and read by ``change_record``.

In bulk. ``change_record_many`` records many writes (the workbook import's chunks) with the
same entries as ``change_record`` would write one by one, in one INSERT per batch.

The change feed. Entries are inserted with ``position`` NULL. ``change_sequence`` gives
positions, in one short transaction holding the ChangeSequence row lock, to the entries
that have committed; the feed (``changes_since``) serves only entries with a position. Why
that makes a polling consumer see every change exactly once is in docs/architecture.md.
"""

import datetime
import decimal
import functools
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Max
from django.db.models.functions import Now
from django.utils import timezone

from ..models import Change, ChangeSequence, Customer, Opportunity, RevenueActual, RevenueTarget
from .write_context import WriteContext, write_context_current

# --- Recording ---------------------------------------------------------------------------

ENTITY_OF_MODEL: dict[type[models.Model], str] = {
    Opportunity: Change.Entity.OPPORTUNITY,
    Customer: Change.Entity.CUSTOMER,
    RevenueActual: Change.Entity.REVENUE_ACTUAL,
    RevenueTarget: Change.Entity.REVENUE_TARGET,
}


@functools.cache
def recorded_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    """The columns a history entry compares: every editable column but the primary key.

    Named by column (``cid`` for an opportunity's customer), as in the API and in SQL; the
    timestamps the database sets are not changes anyone made.
    """
    return tuple(f for f in model._meta.concrete_fields if f.editable and not f.primary_key)


def _json_value(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def row_values(instance: models.Model) -> dict[str, Any]:
    """The recorded columns of a row as JSON values, for ``change_record``'s before/after."""
    return {f.column: _json_value(getattr(instance, f.attname)) for f in recorded_fields(type(instance))}


def _cid_and_area(instance: models.Model) -> tuple[int | None, str | None]:
    if isinstance(instance, Opportunity):
        # The services read an opportunity back with its customer: no extra query.
        return instance.customer_id, instance.customer.area
    if isinstance(instance, Customer):
        return instance.cid, instance.area
    return None, getattr(instance, "area", None)


def _change_fields(
    *, instance: models.Model, before: dict[str, Any] | None, deleted: bool, context: WriteContext, at: Now
) -> dict[str, Any] | None:
    """The columns of the entry recording this write, or None when nothing changed."""
    values = row_values(instance)
    if before is None:
        action = Change.Action.CREATED
        changes = {field: [None, value] for field, value in values.items()}
    elif deleted:
        action = Change.Action.DELETED
        changes = {field: [value, None] for field, value in before.items()}
    else:
        action = Change.Action.UPDATED
        changes = {field: [before[field], value] for field, value in values.items() if before[field] != value}
        if not changes:
            return None
    cid, area = _cid_and_area(instance)
    return {
        "entity": ENTITY_OF_MODEL[type(instance)],
        "key": str(instance.pk),
        "cid": cid,
        "area": area,
        "action": action,
        "changes": changes,
        "actor": context.actor_name(),
        "source": context.source,
        "request_id": context.request_id,
        "import_id": context.import_id,
        "at": at,
    }


def _require_transaction(name: str) -> None:
    if not transaction.get_connection().in_atomic_block:
        # Outside a transaction the entry could commit without its write, or the write without it.
        raise RuntimeError(f"{name} must run inside the transaction of the write it records")


def change_record(*, instance: models.Model, before: dict[str, Any] | None, deleted: bool = False) -> bool:
    """Record the write of ``instance`` (an opportunity, customer or revenue row).

    ``before``: ``row_values`` of the row as it was, None for a create. ``instance`` is the
    row as stored now (for a delete: as it was last). Returns whether an entry was written
    (not when nothing changed). Must run inside the write's transaction.
    """
    _require_transaction("change_record")
    context = write_context_current() or WriteContext()
    fields = _change_fields(instance=instance, before=before, deleted=deleted, context=context, at=Now())
    if fields is None:
        return False
    from .bulk import rows_insert  # bulk imports this module

    # One INSERT built from the fields, as change_record_many's: the ORM's create compiles it
    # and reads the new id back, 0.1-0.2 ms more per write, for an entry no caller reads.
    rows_insert(Change, [fields])
    return True


def change_record_many(*, writes: Iterable[tuple[models.Model, dict[str, Any] | None]]) -> int:
    """``change_record`` for many writes at once: the same entries, inserted in bulk.

    ``writes``: (instance, before) pairs as ``change_record`` takes them (no deletes). One
    INSERT for all of them (crm.services.bulk.rows_insert); returns how many entries it
    wrote. An opportunity's area is its customer's: pass instances with the
    customer attached, or each costs a query. Must run inside the writes' transaction.
    """
    _require_transaction("change_record_many")
    context, at = write_context_current() or WriteContext(), Now()
    entries = [
        fields
        for instance, before in writes
        if (fields := _change_fields(instance=instance, before=before, deleted=False, context=context, at=at))
        is not None
    ]
    from .bulk import rows_insert  # bulk imports this module

    rows_insert(Change, entries)
    return len(entries)


# --- The change feed's positions ---------------------------------------------------------

# Entries given positions per transaction; a feed page is at most 1000, so one round of this
# size always covers the next page.
SEQUENCE_BATCH = 1000
_SEQUENCE_ROW = 1


def _sequence_row_lock() -> ChangeSequence:
    row = ChangeSequence.objects.select_for_update().filter(id=_SEQUENCE_ROW).first()
    if row is not None:
        return row
    # First use (or a flushed test database): start after the highest position given.
    last = Change.objects.aggregate(last=Max("position"))["last"] or 0
    try:
        with transaction.atomic():
            ChangeSequence.objects.create(id=_SEQUENCE_ROW, last_position=last)
    except IntegrityError:
        pass  # Another sequencer created it meanwhile; its lock is taken below.
    return ChangeSequence.objects.select_for_update().get(id=_SEQUENCE_ROW)


def change_sequence(*, batch: int = SEQUENCE_BATCH) -> int:
    """Give the next positions to committed entries that have none, oldest first.

    Returns the last position given so far: every entry up to it has committed.

    Runs in its own transaction (never inside another: its reads must start after the lock
    is held) and holds the ChangeSequence row lock until it commits, so the positions of
    one call all commit before the next call reads anything.
    """
    with transaction.atomic(durable=True):
        sequence = _sequence_row_lock()
        # A plain read after the lock: it sees every entry committed by now, and never takes
        # gap locks that would hold up writers inserting new entries.
        pending = list(
            Change.objects.filter(position__isnull=True).order_by("id").values_list("id", flat=True)[:batch]
        )
        if not pending:
            return sequence.last_position
        first = sequence.last_position + 1
        Change.objects.filter(id__in=pending).update(
            position=models.Case(
                *(models.When(id=entry_id, then=first + offset) for offset, entry_id in enumerate(pending)),
                output_field=models.BigIntegerField(),
            )
        )
        sequence.last_position = first + len(pending) - 1
        sequence.save(update_fields=["last_position"])
        return sequence.last_position


# --- Purging -----------------------------------------------------------------------------

PURGE_BATCH = 10_000


def change_purge(*, older_than: datetime.timedelta) -> int:
    """Delete entries written more than ``older_than`` ago, in batches; return how many.

    Each batch is its own short transaction, so a large purge never holds a long lock.
    """
    if older_than < datetime.timedelta(0):
        raise ValueError(f"older_than must not be negative; got {older_than}")
    cutoff = timezone.now() - older_than
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                Change.objects.filter(at__lt=cutoff).order_by("at").values_list("id", flat=True)[:PURGE_BATCH]
            )
            if not ids:
                return deleted
            deleted += Change.objects.filter(id__in=ids).delete()[0]

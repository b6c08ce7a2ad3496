"""An import as the doors run it (API, admin, manage.py): size limit, record, write context.

Every run is recorded in ImportRun; its id is the import's id in the report and the
``import_id`` of the write context (source ``import``) around every service call, which is
how the change history attributes each write to the import that made it.
"""

import hashlib
import io

from django.conf import settings
from django.utils import timezone

from ..scopes import AreaScope, scope_for
from ..services import write_context
from .engine import import_uploads
from .models import ImportRun
from .reader import FileRejected, open_upload

# Rows and errors an ImportRun record keeps of its report; the counts are always whole.
STORED_REPORT_ENTRIES = 1000


def stored_report(report: dict) -> dict:
    """The report as recorded: the first STORED_REPORT_ENTRIES rows and errors, and their totals."""
    return {
        **report,
        "rows": report["rows"][:STORED_REPORT_ENTRIES],
        "errors": report["errors"][:STORED_REPORT_ENTRIES],
        "rows_total": len(report["rows"]),
        "errors_total": len(report["errors"]),
    }


class FileTooLarge(Exception):
    def __init__(self, file_name: str, size: int, limit: int):
        self.file_name, self.size, self.limit = file_name, size, limit
        super().__init__(f"{file_name}: {size} bytes, more than the {limit} bytes allowed.")


def _size(stream) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def _digest(streams) -> str:
    digest = hashlib.sha256()
    for stream in streams:
        while block := stream.read(1 << 20):
            digest.update(block)
        stream.seek(0)
    return digest.hexdigest()


def import_run(
    *, files: list[tuple[str, object]], dry_run: bool, partial: bool, user=None, keep_content: bool = False
) -> ImportRun:
    """Import ``files`` ((name, binary stream) pairs) as one import; returns the run with its report.

    Raises FileTooLarge (nothing recorded) or FileRejected (recorded as rejected). A real run
    keeps its writes when no row is in error, or with ``partial`` the valid rows'.
    ``keep_content`` stores the single file for a later ``import_run_apply`` (the admin).
    Rows outside ``user``'s areas are row errors (``run_scope``).
    """
    limit = settings.IMPORT_MAX_FILE_SIZE
    sizes = [_size(stream) for _, stream in files]
    for (name, _), size in zip(files, sizes, strict=True):
        if size > limit:
            raise FileTooLarge(name, size, limit)
    content = None
    if keep_content:
        ((_, stream),) = files
        content = stream.read()
        stream.seek(0)
    run = ImportRun.objects.create(
        user=user if getattr(user, "pk", None) else None,
        file_name=", ".join(name for name, _ in files)[:255],
        file_size=sum(sizes),
        file_sha256=_digest(stream for _, stream in files),
        dry_run=dry_run,
        partial=partial,
        content=content,
    )
    return _execute(run, files, user=user)


def run_scope(user) -> AreaScope:
    """The areas an import may read and write: the user's (API and admin), every area without a
    user (``manage.py import_workbook``, scripts: whoever runs them has the database)."""
    return scope_for(user) if user is not None else AreaScope.ALL


def _execute(run: ImportRun, files, *, user) -> ImportRun:
    try:
        uploads = [open_upload(name, stream) for name, stream in files]
        actor = user.get_username() if getattr(user, "pk", None) else None
        with write_context(source="import", actor=actor, import_id=str(run.pk)):
            report = import_uploads(uploads, dry_run=run.dry_run, partial=run.partial, scope=run_scope(user))
    except FileRejected as exc:
        run.state = ImportRun.State.REJECTED
        run.report = {"id": run.pk, "file": exc.file_name, "detail": str(exc)}
        run.content = None
        run.finished_at = timezone.now()
        run.save()
        raise
    run.report = {"id": run.pk, **report}
    if run.dry_run:
        run.state = ImportRun.State.CHECKED
    elif report["errors"] and not run.partial:
        run.state = ImportRun.State.FAILED
    else:
        run.state = ImportRun.State.APPLIED
    if not run.dry_run:
        run.content = None
    run.finished_at = timezone.now()
    # The door answers the whole report (run.report); the record keeps it bounded, so a
    # 100,000-row import does not store (or send MySQL) tens of megabytes in one value.
    ImportRun.objects.filter(pk=run.pk).update(
        report=stored_report(run.report),
        state=run.state,
        content=run.content,
        finished_at=run.finished_at,
    )
    return run


def import_run_apply(*, checked: ImportRun, user, partial: bool | None = None) -> ImportRun:
    """Apply the file a dry run checked (the admin's "confirm"): a new run over the same bytes."""
    if checked.state != ImportRun.State.CHECKED or checked.content is None:
        raise ValueError(f"import {checked.pk} is not a dry run waiting for confirmation")
    content = bytes(checked.content)
    run = ImportRun.objects.create(
        user=user if getattr(user, "pk", None) else None,
        file_name=checked.file_name,
        file_size=checked.file_size,
        file_sha256=checked.file_sha256,
        dry_run=False,
        partial=checked.partial if partial is None else partial,
    )
    ImportRun.objects.filter(pk=checked.pk).update(content=None)
    return _execute(run, [(checked.file_name, io.BytesIO(content))], user=user)

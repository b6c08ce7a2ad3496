"""The admin's "Import workbook": upload, read the dry run's report, confirm to apply; and the export.

Registered from crm/admin.py. The pages call the same functions as the API and manage.py
(crm.imports.runs), so the admin reports and writes exactly what they do. The uploaded
file waits for the confirmation in its ImportRun row, so any worker can apply it.

Area scopes (crm/scopes.py): an import reads and writes the staff user's areas only (rows
outside are row errors, as through the API); the export holds their areas' rows only; and a
user with fewer than all areas sees only their own imports, whose reports hold only what
their own file said.
"""

import tempfile

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from ..scopes import scope_for
from .export import ADMIN_MAX_ROWS, workbook_export
from .layout import OPPORTUNITIES, TABLES
from .models import ImportRun
from .reader import FileRejected
from .runs import FileTooLarge, import_run, import_run_apply

IMPORT_PERMISSION = "crm.import_data"
# A report can list every row; the page shows this many and says how many more there are.
ROWS_SHOWN = 500


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="An .xlsx workbook (one sheet per table) or a .csv file named like its table."
    )
    partial = forms.BooleanField(
        required=False,
        help_text="Apply the valid rows even when others are in error (default: all or nothing).",
    )


def _scoped_tables(request) -> dict:
    """The four tables, in their order, with the rows of the staff user's areas only."""
    scope = scope_for(request.user)
    return {
        table: table.model.objects.filter(
            scope.opportunity_q() if table is OPPORTUNITIES else scope.customer_q()
        ).order_by(*table.model._meta.ordering)
        for table in TABLES
    }


def _export_permissions() -> list[str]:
    return [f"crm.view_{table.model._meta.model_name}" for table in TABLES]


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "user", "file_name", "file_size", "dry_run", "partial", "state")
    list_filter = ("state", "dry_run")
    readonly_fields = (
        "id", "created_at", "finished_at", "user", "file_name", "file_size", "file_sha256",
        "dry_run", "partial", "state", "report",
    )  # fmt: skip
    exclude = ("content",)
    change_list_template = "admin/crm/importrun/change_list.html"

    # The record of what happened: nobody adds or edits it by hand.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(IMPORT_PERMISSION) or super().has_view_permission(request, obj)

    def get_queryset(self, request):
        runs = super().get_queryset(request)
        return runs if scope_for(request.user).is_all else runs.filter(user=request.user)

    def get_urls(self):
        own = [
            path("import/", self.admin_site.admin_view(self.import_view), name="crm_importrun_import"),
            path(
                "<int:pk>/confirm/",
                self.admin_site.admin_view(self.confirm_view),
                name="crm_importrun_confirm",
            ),
            path("export/", self.admin_site.admin_view(self.export_view), name="crm_importrun_export"),
        ]
        return own + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_import": request.user.has_perm(IMPORT_PERMISSION),
            "can_export": request.user.has_perms(_export_permissions()),
        }
        return super().changelist_view(request, extra_context)

    def _context(self, request, **extra):
        return {**self.admin_site.each_context(request), "opts": self.model._meta, **extra}

    def import_view(self, request):
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                run = import_run(
                    files=[(upload.name, upload.file)],
                    dry_run=True,
                    partial=form.cleaned_data["partial"],
                    user=request.user,
                    keep_content=True,
                )
            except (FileRejected, FileTooLarge) as exc:
                form.add_error("file", str(exc))
            else:
                return HttpResponseRedirect(reverse("admin:crm_importrun_confirm", args=[run.pk]))
        context = self._context(request, title="Import workbook", form=form, can_export=True)
        return TemplateResponse(request, "admin/crm/importrun/import_form.html", context)

    def confirm_view(self, request, pk):
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied
        run = get_object_or_404(self.get_queryset(request), pk=pk)
        waiting = run.state == ImportRun.State.CHECKED and run.content is not None
        if request.method == "POST":
            if not waiting:
                messages.error(request, f"Import {run.pk} is not a dry run waiting for confirmation.")
                return HttpResponseRedirect(reverse("admin:crm_importrun_confirm", args=[run.pk]))
            try:
                applied = import_run_apply(checked=run, user=request.user)
            except FileRejected as exc:  # the same bytes were readable a moment ago; be safe anyway
                messages.error(request, str(exc))
                return HttpResponseRedirect(reverse("admin:crm_importrun_import"))
            level = messages.SUCCESS if applied.state == ImportRun.State.APPLIED else messages.ERROR
            messages.add_message(request, level, f"Import {applied.pk}: {applied.get_state_display()}.")
            return HttpResponseRedirect(reverse("admin:crm_importrun_confirm", args=[applied.pk]))
        report = run.report or {}
        context = self._context(
            request,
            title=f"Import {run.pk}: {run.file_name}",
            run=run,
            report=report,
            waiting=waiting,
            rows_shown=(report.get("rows") or [])[:ROWS_SHOWN],
            rows_more=max(report.get("rows_total", 0) - ROWS_SHOWN, 0),
            errors_shown=(report.get("errors") or [])[:ROWS_SHOWN],
            errors_more=max(report.get("errors_total", 0) - ROWS_SHOWN, 0),
        )
        return TemplateResponse(request, "admin/crm/importrun/report.html", context)

    def export_view(self, request):
        if not request.user.has_perms(_export_permissions()):
            raise PermissionDenied
        tables = _scoped_tables(request)
        count = sum(queryset.count() for queryset in tables.values())
        if count > ADMIN_MAX_ROWS:
            messages.error(
                request,
                f"Not exported: the four tables hold {count} rows, and a workbook from this page holds "
                f"at most {ADMIN_MAX_ROWS}. Export everything with manage.py export_workbook.",
            )
            return HttpResponseRedirect(reverse("admin:crm_importrun_changelist"))
        # Written to a temporary file, then streamed: the workbook never sits in memory whole.
        target = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it when sent
        workbook_export(target, querysets=tables)
        target.seek(0)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        return FileResponse(target, as_attachment=True, filename=f"crm-workbook-{stamp}.xlsx")

"""The admin's change history: each row's history page, the "Changes" list, and the recording of
the customer and revenue pages' deletes.

Registered from crm/admin.py, which adds the two mixins to its ModelAdmins. Every save is
recorded by its service (crm.services); customers and revenue rows have no delete service, so
``RecordedDeleteMixin`` records each of their deletes in the page's transaction.
"""

import copy
import csv
import json

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from crm import services
from crm.admin_scopes import ScopedAdminMixin, scope_areas
from crm.models import Change
from crm.report_cache import report_cache_invalidate
from crm.scopes import scope_for
from crm.services.history import ENTITY_OF_MODEL

# A row's history page shows the latest entries, newest first.
HISTORY_SHOWN = 500


def _change_rows(entry: Change) -> list[tuple[str, object, object]]:
    return [(field, old, new) for field, (old, new) in entry.changes.items()]


class HistoryPageMixin:
    """The "History" button of a change page: the row's recorded changes (field, old → new, who,
    when, from where), also for a row that has since been deleted."""

    def history_view(self, request, object_id, extra_context=None):
        key = unquote(object_id)
        obj = self.get_object(request, key)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        entity = ENTITY_OF_MODEL[self.model]
        # The entries of the staff user's areas only: a row outside them has no history here,
        # as one that never existed.
        entries = Change.objects.filter(scope_for(request.user).customer_q(), entity=entity, key=key)
        entries = list(entries.order_by("-id")[: HISTORY_SHOWN + 1])
        if obj is None and not entries:
            raise Http404(f"No {self.opts.verbose_name} with this key, and no recorded change.")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change history: {obj if obj is not None else key}",
            "subtitle": None,
            "opts": self.opts,
            "object": obj,
            "object_key": key,
            "entries": [(entry, _change_rows(entry)) for entry in entries[:HISTORY_SHOWN]],
            "more": len(entries) > HISTORY_SHOWN,
            "shown": HISTORY_SHOWN,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/crm/change_history.html", context)


class RecordedDeleteMixin:
    """Record the page's deletes of a customer or revenue row in its transaction, as a service would,
    and start a new forecast/report cache generation (crm/report_cache.py)."""

    def delete_model(self, request, obj):
        with transaction.atomic():
            last = copy.copy(obj)  # delete() clears the primary key of obj
            super().delete_model(request, obj)
            services.change_record(instance=last, before=services.row_values(last), deleted=True)
        report_cache_invalidate()

    def delete_queryset(self, request, queryset):
        # The bulk "delete selected" action: one recorded delete per row, all or none.
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)


# --- The "Changes" list ------------------------------------------------------------------------


class ActorFilter(admin.SimpleListFilter):
    """Actors are usernames: the choices come from the (small) user table, not a scan of the history."""

    title = "actor"
    parameter_name = "actor"

    def lookups(self, request, model_admin):
        names = get_user_model().objects.order_by("username").values_list("username", flat=True)
        return [("-", "(system job)"), *[(name, name) for name in names]]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(actor__isnull=True) if value == "-" else queryset.filter(actor__exactly=value)


class AreaFilter(admin.SimpleListFilter):
    title = "area"
    parameter_name = "area"

    def lookups(self, request, model_admin):
        return [(area, area) for area in scope_areas(request)]

    def queryset(self, request, queryset):
        return queryset if self.value() is None else queryset.filter(area__exactly=self.value())


CHANGE_CSV_FIELDS = (
    "position",
    "at",
    "entity",
    "key",
    "cid",
    "area",
    "action",
    "changes",
    "actor",
    "source",
    "request_id",
    "import_id",
)


@admin.register(Change)
class ChangeAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Read only: history is written by the services, never by hand. Entries of the staff user's
    areas only (an entry's area is its row's when written)."""

    list_display = (
        "at",
        "entity",
        "key",
        "action",
        "changed_fields",
        "actor",
        "source",
        "area",
        "request_id",
    )
    list_filter = (ActorFilter, "source", "entity", AreaFilter, "action", ("at", admin.DateFieldListFilter))
    search_fields = ("=key", "=request_id", "=import_id")
    ordering = ("-id",)
    list_per_page = 100
    # A count of a large history on every page view is a full index scan; the filtered count is shown.
    show_full_result_count = False
    actions = ["export_csv"]
    fields = CHANGE_CSV_FIELDS
    readonly_fields = CHANGE_CSV_FIELDS

    @admin.display(description="fields")
    def changed_fields(self, obj):
        return ", ".join(obj.changes)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Export selected changes to CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        # crm.admin imports this module for its mixins; its CSV cell rule is read here, when used.
        from crm.admin import _csv_cell

        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="changes-{stamp}.csv"'
        response.write("\ufeff")  # as every CSV export here: Excel reads it as UTF-8
        writer = csv.writer(response)
        writer.writerow(CHANGE_CSV_FIELDS)
        for row in queryset.values_list(*CHANGE_CSV_FIELDS):
            cells = [
                json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value for value in row
            ]
            writer.writerow([_csv_cell(cell) for cell in cells])
        return response

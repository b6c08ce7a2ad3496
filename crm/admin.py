"""The Django admin: browse and fix the CRM data with Django's own permissions.

A reader (view_* permissions) sees every list and page but cannot change anything; an
editor's writes go through the same service functions as the API and the workbook import
(crm.services: opportunity_create / _update / _delete, customer_create / _update,
revenue_actual_upsert, revenue_target_upsert), so the doors share one set of rules, one
way of generating ``oid`` and one change history. Every list page runs a fixed number of
queries, whatever the number of rows shown (pinned in crm/tests/test_admin.py).
"""

import csv
import io
import tempfile
from collections.abc import Iterator
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.db.models import Count, DecimalField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.http import FileResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import smart_split, unescape_string_literal

from crm import messages as crm_messages
from crm import selectors, services
from crm.admin_history import HistoryPageMixin, RecordedDeleteMixin  # also registers "Changes"
from crm.admin_scopes import ScopedAdminMixin, area_list_filter  # also registers the grants
from crm.choices import fiscal_year_bounds, fiscal_year_of
from crm.imports import admin as _imports_admin  # noqa: F401  (registers "Import workbook")
from crm.imports.export import ADMIN_MAX_ROWS as WORKBOOK_ADMIN_MAX_ROWS
from crm.imports.export import workbook_export
from crm.imports.layout import TABLES
from crm.models import Customer, Opportunity, RevenueActual, RevenueTarget
from crm.rendering import row_chunks, walk_chunks
from crm.scopes import scope_for
from crm.serializers import CUSTOMER_FIELDS

# --- CSV export (shared by every list) ----------------------------------------------------

# A cell starting with one of these is run as a formula by spreadsheet programs; customer
# and opportunity names are free text typed by people, so they are neutralised.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, Decimal):
        # Every decimal column is money with cents; SQLite's SUM() drops trailing zeros.
        return f"{value:.2f}"
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def _csv_lines(header, chunks) -> Iterator[bytes]:
    # A byte-order mark first: Excel on Windows reads a CSV without one in the ANSI code page
    # ("ZÃ¼rich"); with it, as UTF-8. Other readers skip it (Python: encoding="utf-8-sig").
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    yield ("\ufeff" + text.getvalue()).encode()
    for rows in chunks:
        text.seek(0)
        text.truncate()
        writer.writerows([_csv_cell(value) for value in row] for row in rows)
        yield text.getvalue().encode()


class ExportMixin:
    """Two actions that export the selected rows of a list (or, with "select all", the filtered
    list): as CSV, and as a workbook in the import's layout.

    ``csv_fields`` are names for ``QuerySet.values_list`` on the admin's queryset (so the
    changelist's annotations can be exported too); the header repeats them, because they
    are the column names people use in SQL and in the API. The workbook is written by the
    code of ``manage.py export_workbook`` (crm.imports.export), one sheet of the list's
    table, so importing it again reports every row unchanged.
    """

    csv_fields: tuple[str, ...] = ()
    actions = ["export_csv", "export_workbook"]
    # The most rows one export writes, so that it ends well within the worker's timeout
    # (GUNICORN_TIMEOUT, 40 s): past it the worker is killed and the file cut short. Measured
    # at 1M opportunities: CSV about 37 us a row, streamed; a workbook, crm.imports.export.
    # More rows: manage.py export_workbook.
    csv_max_rows = 500_000
    workbook_max_rows = WORKBOOK_ADMIN_MAX_ROWS

    def _too_many(self, request, queryset, limit: int, kind: str) -> bool:
        count = queryset.count()
        if count <= limit:
            return False
        self.message_user(
            request,
            f"Not exported: {count} rows selected, and a {kind} from this page holds at most {limit}. "
            "Narrow the list with its filters, or export everything with manage.py export_workbook.",
            messages.ERROR,
        )
        return True

    @admin.action(description="Export selected rows to CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        """The rows in the list's own order (the file reads like the page they were picked
        on), streamed a chunk at a time: the whole table (1M opportunities) took 32 s and
        1.6 GB of memory in one worker when it was built as one body."""
        if self._too_many(request, queryset, self.csv_max_rows, "CSV file"):
            return None
        # The list's order, walked along its index where it has one (crm.rendering).
        try:
            chunks = walk_chunks(queryset, self.csv_fields, converted=True)
        except ValidationError:
            chunks = row_chunks(queryset, self.csv_fields, converted=True)
        model = self.model._meta.model_name
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(
            _csv_lines(self.csv_fields, chunks), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{model}-{stamp}.csv"'
        return response

    @admin.action(description="Export selected rows to a workbook (import layout)", permissions=["view"])
    def export_workbook(self, request, queryset):
        if self._too_many(request, queryset, self.workbook_max_rows, "workbook"):
            return None
        table = next(table for table in TABLES if table.model is self.model)
        # Written to a temporary file, then streamed: the workbook never sits in memory whole.
        target = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it when sent
        workbook_export(target, querysets={table: queryset})
        target.seek(0)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        return FileResponse(target, as_attachment=True, filename=f"{table.name}-{stamp}.xlsx")


# --- Writes through the services ------------------------------------------------------------


class ServiceAdminForm(forms.ModelForm):
    """A form that checks the rules of crm.services, so the admin cannot disagree with the API.

    The fields only parse input (a number is a number, a date is a date); ``clean()`` then
    runs the services' pure rule check (``validate()``), which writes nothing, and puts each
    message on the field the service named, exactly as the API reports it. The write happens
    in the ModelAdmin's ``save_model`` (ServiceWriteMixin), through the service. Django's
    model validation is not run: a second, slightly different set of rules is what this
    design avoids.
    """

    # Service error keys that are not this form's field names.
    service_field_names: dict[str, str] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self._offer_stored_values()

    def _offer_stored_values(self) -> None:
        # A row written by another tool may hold a value outside the vocabulary (a legacy
        # spelling such as "france" or "closed won"). Without it among the choices the page
        # would show an empty choice, hiding what is stored; offered as it is, the page shows
        # it, and saving it is refused by the services' rules with their message naming it.
        for name, field in self.fields.items():
            if not isinstance(field, forms.ChoiceField) or isinstance(field, forms.ModelChoiceField):
                continue
            stored = self.initial.get(name)
            if stored in (None, "") or stored in {value for value, _ in field.choices}:
                continue
            field.choices = [*field.choices, (stored, f"{stored} (stored, not in the vocabulary)")]

    def validate(self) -> None:
        """Raise the services' ValidationError for what the user typed; write nothing."""
        raise NotImplementedError

    def typed(self, names) -> dict:
        """The parsed values of ``names``, an empty text as None (as the services take it)."""
        return {name: self.cleaned_data[name] if self.cleaned_data[name] != "" else None for name in names}

    def clean(self):
        cleaned_data = super().clean()
        if self.errors:
            # A field that did not parse has no value to check the rules with.
            return cleaned_data
        try:
            self.validate()
        except ValidationError as exc:
            self.add_service_errors(exc)
        return cleaned_data

    def _post_clean(self):
        # ModelForm's model validation (full_clean) is the second set of rules this form
        # avoids; the instance is not built from the form either: save_model writes through
        # the service.
        pass

    def add_service_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for field, errors in exc.error_dict.items():
            field = self.service_field_names.get(field, field)
            self.add_error(field if field in self.fields else NON_FIELD_ERRORS, errors)


class _SaveRefused(Exception):
    """The service refused at save what ``clean()`` accepted: the stored data changed in between."""


class ServiceWriteMixin:
    """``save_model`` writes through ``service_write`` (the form checked the same rules first).

    The admin's log entry, message and redirect read the row from ``obj``, so the stored row's
    values are copied onto it. A refusal at save (the data changed since the form's check; the
    service checks again under its row lock) rolls the page's transaction back and says why.
    """

    def service_write(self, request, form, change: bool):
        """Write through the service; return the stored row. Raise ValidationError when refused."""
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        if change and not form.changed_data:
            return
        try:
            stored = self.service_write(request, form, change)
        except ValidationError as exc:
            raise _SaveRefused from exc
        except ObjectDoesNotExist:
            # Deleted, or moved out of the staff user's areas, since the page was read.
            gone = ValidationError(f"this {self.opts.verbose_name} no longer exists.")
            raise _SaveRefused from gone
        for field in self.model._meta.concrete_fields:
            setattr(obj, field.attname, getattr(stored, field.attname))
        obj._state.adding = False
        obj._state.db = stored._state.db

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _SaveRefused as exc:
            # Someone changed the data between the form's check and the write, so the page's
            # transaction rolled back and nothing was written. The page shows what is stored now.
            problems = "; ".join(exc.__cause__.messages)
            self.message_user(request, f"Not saved, the data changed meanwhile: {problems}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


# --- Customers ----------------------------------------------------------------------------


def _open_opportunities_of_customer():
    # Opportunity.objects.open() is the one definition of "open" (shared with the API and the
    # forecast); correlated to the customer row so the list stays one query for any length.
    return Opportunity.objects.open().filter(customer=OuterRef("pk")).order_by().values("customer")


# An opportunity's own columns in the order people read them: the inline, the edit page and
# the CSV export show the same fields.
OPPORTUNITY_FIELDS = (
    "opportunity_name",
    "product",
    "status",
    "est_monthly_revenue",
    "probability",
    "forecast_category",
    "expected_close_date",
)


# The customer page shows this many of its opportunities; the opportunity list has them all.
INLINE_OPPORTUNITIES_SHOWN = 50


class FirstOpportunitiesFormSet(BaseInlineFormSet):
    """The customer's first opportunities in list order, read as the API reads one customer's
    page (``selectors.opportunity_page_objects``: by the cid index), and how many it has.

    Every opportunity of a customer with 6 000 took 6 s to render on its page."""

    def get_queryset(self):
        if not hasattr(self, "_first"):
            deals = super().get_queryset()
            self.total = deals.count()
            self._first = selectors.opportunity_page_objects(deals[:INLINE_OPPORTUNITIES_SHOWN])
        return self._first


class OpportunityInline(admin.TabularInline):
    """The customer's opportunities, read-only: they are written through the Opportunity page.

    The first INLINE_OPPORTUNITIES_SHOWN; past them the page says how many there are and
    links to the customer's rows in the opportunity list."""

    model = Opportunity
    formset = FirstOpportunitiesFormSet
    template = "admin/crm/opportunity_inline.html"
    fields = OPPORTUNITY_FIELDS
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        # Adding here would bypass opportunity_create; the Opportunity page is the way in.
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CustomerAdminForm(ServiceAdminForm):
    """customer_validate's rules on the whole record; a new cid that is taken is refused on ``cid``."""

    class Meta:
        model = Customer
        fields = CUSTOMER_FIELDS

    def service_values(self) -> dict:
        """Everything for an add; for an edit only the changes, as customer_update takes them."""
        return self.typed(self.fields if self.instance._state.adding else self.changed_data)

    def validate(self) -> None:
        values = self.service_values()
        if not self.instance._state.adding:
            stored = {name: getattr(self.instance, name) for name in services.CUSTOMER_FIELDS}
            services.customer_validate(**stored | values)
            return
        services.customer_validate(**values)
        if Customer.objects.filter(cid=values["cid"]).exists():
            # What customer_create answers for a taken cid, found before any write.
            raise ValidationError(
                {"cid": [ValidationError(crm_messages.customer_taken(values["cid"]), code="unique")]}
            )


@admin.register(Customer)
class CustomerAdmin(
    HistoryPageMixin, ServiceWriteMixin, RecordedDeleteMixin, ExportMixin, ScopedAdminMixin, admin.ModelAdmin
):
    form = CustomerAdminForm
    list_display = (
        "cid",
        "customer_name",
        "area",
        "account_executive",
        "technical_specialist",
        "is_active",
        "is_key_account",
        "open_opportunities",
        "open_monthly_revenue",
    )
    list_display_links = ("cid", "customer_name")
    list_filter = (
        area_list_filter("area"),
        "is_active",
        "is_key_account",
        "account_executive",
        "technical_specialist",
    )
    search_fields = ("customer_name", "=cid")
    ordering = ("cid",)
    inlines = (OpportunityInline,)
    list_per_page = 100
    csv_fields = (*CUSTOMER_FIELDS, "open_opportunities", "open_monthly_revenue")

    def get_readonly_fields(self, request, obj=None):
        # The cid is the customer's identity (opportunities point at it): set once, on add.
        return ("cid",) if obj is not None else ()

    def service_write(self, request, form, change):
        if change:
            return services.customer_update(customer=form.instance, **form.service_values())
        return services.customer_create(**form.service_values())

    def get_queryset(self, request):
        open_of_customer = _open_opportunities_of_customer()
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_opportunities=Coalesce(
                    Subquery(open_of_customer.annotate(n=Count("*")).values("n")), Value(0)
                ),
                open_monthly_revenue=Coalesce(
                    Subquery(
                        open_of_customer.annotate(total=Sum("est_monthly_revenue")).values("total"),
                        output_field=DecimalField(max_digits=14, decimal_places=2),
                    ),
                    Value(0),
                    output_field=DecimalField(max_digits=14, decimal_places=2),
                ),
            )
        )

    @admin.display(description="open opps", ordering="open_opportunities")
    def open_opportunities(self, obj):
        return obj.open_opportunities

    @admin.display(description="open monthly revenue (EUR)", ordering="open_monthly_revenue")
    def open_monthly_revenue(self, obj):
        return obj.open_monthly_revenue


# --- Opportunities ------------------------------------------------------------------------


class OpportunityAdminForm(ServiceAdminForm):
    """opportunity_validate for an add, opportunity_update_validate (the check opportunity_update
    makes, without writing) for a change."""

    # The customer is ``cid`` in the services and the API, ``customer`` in the form.
    service_field_names = {"cid": "customer"}

    # Plain number fields: limits (> 0, max size, 2 places; 0-100) are the service's rules
    # and must be reported in the service's words, not Django's field-level variants.
    est_monthly_revenue = forms.DecimalField(label="Est. monthly revenue (EUR)")
    probability = forms.IntegerField(
        required=False, help_text="Percent, 0-100. Empty: the default for the status."
    )

    class Meta:
        model = Opportunity
        fields = ("customer", *OPPORTUNITY_FIELDS)
        help_texts = {"forecast_category": "Empty: the default for the status."}

    def service_values(self) -> dict:
        """What the user typed, as the services take it: everything for an add, the changes for an edit.

        Only what the user changed, as a PATCH would: a new status without a new probability
        takes the status's defaults, by the service's rule.
        """
        names = self.Meta.fields if self.instance._state.adding else self.changed_data
        values = self.typed(name for name in names if name != "customer")
        if "customer" in names:
            values["cid"] = self.cleaned_data["customer"].cid
        return values

    def validate(self) -> None:
        if self.instance._state.adding:
            services.opportunity_validate(**self.service_values())
        else:
            services.opportunity_update_validate(opportunity=self.instance, **self.service_values())


class OpportunityChangeList(ChangeList):
    """The admin's list of opportunities, its rows read as the API reads its pages
    (``selectors.opportunity_page_objects``): kept to the close-date index, so a page costs the
    same at 1M rows as at 1 000 (joined to the customers, MySQL sorted every opportunity first:
    6 s at 1M), and a later page skips its rows in the index alone (13 s at page 5 000)."""

    def get_results(self, request):
        super().get_results(request)
        # The page, or the whole list when it fits one: a queryset not run yet.
        self.result_list = selectors.opportunity_page_objects(self.result_list, scan=bool(self.query))


def _search_words(search_term: str) -> list[str]:
    # As Django's admin splits a search: words, or "quoted phrases".
    return [
        unescape_string_literal(word) if word[0] in "\"'" and word[-1] == word[0] else word
        for word in smart_split(search_term)
    ]


class _FiscalYearFilter(admin.SimpleListFilter):
    """Rows whose ``date_field`` falls in the fiscal year (July-June) chosen; subclasses list the years."""

    date_field = ""

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        try:
            start, end = fiscal_year_bounds(int(value))
        except (ValueError, OverflowError):
            # A hand-edited URL: show nothing rather than fail.
            return queryset.none()
        return queryset.filter(**{f"{self.date_field}__range": (start, end)})


class CloseDateFiscalYearFilter(_FiscalYearFilter):
    """Opportunities by the fiscal year (July-June) of their expected close date.

    In place of a date hierarchy, whose years are a DISTINCT over every row (0.4 s at 1M):
    the years offered run from the first close date of the staff user's rows to the last,
    two reads of the close-date index (``selectors.opportunity_close_date_range``).
    """

    title = "fiscal year of the close date"
    parameter_name = "close_fiscal_year"
    date_field = "expected_close_date"

    def lookups(self, request, model_admin):
        ends = selectors.opportunity_close_date_range(model_admin.get_queryset(request))
        if ends is None:
            return []
        first, last = (fiscal_year_of(day) for day in ends)
        return [(str(year), f"FY{year}") for year in range(last, first - 1, -1)]


@admin.register(Opportunity)
class OpportunityAdmin(HistoryPageMixin, ServiceWriteMixin, ExportMixin, ScopedAdminMixin, admin.ModelAdmin):
    form = OpportunityAdminForm
    scope_path = "customer__"
    list_display = (
        "opportunity_name",
        "customer_name",
        "customer_area",
        "product",
        "status",
        "est_monthly_revenue",
        "probability",
        "forecast_category",
        "expected_close_date",
    )
    # The page's rows and their customers come from OpportunityChangeList, not from a join.
    list_select_related = False
    # Django counts the unfiltered list too, for "(N total)": a second count of the table.
    show_full_result_count = False
    list_filter = (
        "status",
        "product",
        "forecast_category",
        area_list_filter("customer__area"),
        CloseDateFiscalYearFilter,
    )
    search_fields = ("opportunity_name", "=oid", "customer__customer_name")
    autocomplete_fields = ("customer",)
    readonly_fields = ("oid", "created_at", "updated_at")
    fields = ("oid", "customer", *OPPORTUNITY_FIELDS, "created_at", "updated_at")
    list_per_page = 100
    csv_fields = (
        "oid",
        "customer__cid",
        "customer__customer_name",
        "customer__area",
        *OPPORTUNITY_FIELDS,
        "created_at",
        "updated_at",
    )

    def get_fields(self, request, obj=None):
        # oid and the timestamps do not exist before the service creates the row.
        if obj is None:
            return [f for f in self.fields if f not in self.readonly_fields]
        return self.fields

    def get_changelist(self, request, **kwargs):
        return OpportunityChangeList

    def get_search_results(self, request, queryset, search_term):
        """Django's search of ``search_fields`` (every word must match one of them), with the
        customer names matched in the customer table: a join ORed with the opportunity's own
        columns read every opportunity with its customer (5 s for the count at 1M rows)."""
        for word in _search_words(search_term):
            customers = Customer.objects.filter(
                scope_for(request.user).customer_q(), customer_name__icontains=word
            ).values("cid")
            queryset = queryset.filter(
                Q(opportunity_name__icontains=word) | Q(oid=word) | Q(customer__in=Subquery(customers))
            )
        return queryset, False

    # Not sortable: ordered by a customer's column, the whole list is joined and sorted (7 s at
    # 1M rows); the customer and area filters and the search narrow it instead.
    @admin.display(description="customer")
    def customer_name(self, obj):
        return obj.customer.customer_name

    @admin.display(description="area")
    def customer_area(self, obj):
        return obj.customer.area

    def service_write(self, request, form, change):
        # The service checks the rules again (an update under the row lock) and writes, within
        # the staff user's areas (a customer moved out of them meanwhile is one that is gone).
        scope = scope_for(request.user)
        if change:
            return services.opportunity_update(
                opportunity=form.instance, scope=scope, **form.service_values()
            )
        return services.opportunity_create(scope=scope, **form.service_values())

    def save_related(self, request, form, formsets, change):
        # No many-to-many field and no inline on this page: nothing is saved besides the row.
        pass

    def delete_model(self, request, obj):
        services.opportunity_delete(opportunity=obj, scope=scope_for(request.user))

    def delete_queryset(self, request, queryset):
        # The bulk "delete selected" action: one service call per row, so a rule added to
        # opportunity_delete later applies here too.
        scope = scope_for(request.user)
        for opportunity in queryset:
            services.opportunity_delete(opportunity=opportunity, scope=scope)


# --- Revenue ------------------------------------------------------------------------------


class FiscalYearFilter(_FiscalYearFilter):
    """Actuals are stored by month; people ask for a fiscal year (July-June)."""

    title = "fiscal year"
    parameter_name = "fiscal_year"
    date_field = "month"

    def lookups(self, request, model_admin):
        months = model_admin.get_queryset(request).dates("month", "month")
        years = sorted({fiscal_year_of(month) for month in months}, reverse=True)
        return [(str(year), f"FY{year}") for year in years]


class RevenueAdminForm(ServiceAdminForm):
    """One revenue row through its upsert's rules: an add names its key, an edit changes the amount.

    The key (area and month, or area and fiscal year) is the row's identity, as in the import;
    an add whose key is taken is refused on the key (editing that row is the way to change it).
    """

    key: tuple[str, ...]
    validator = None  # the service's pure rule check, a staticmethod
    exists_message: str

    def service_values(self) -> dict:
        """The whole row as the upsert takes it: the stored key for an edit, and what was typed."""
        stored = (
            {} if self.instance._state.adding else {name: getattr(self.instance, name) for name in self.key}
        )
        return stored | self.typed(self.fields)

    def taken(self, values: dict) -> ValidationError:
        return ValidationError(self.exists_message.format(**values), code="unique")

    def validate(self) -> None:
        values = self.validator(**self.service_values())
        key = {name: values[name] for name in self.key}
        if self.instance._state.adding and self._meta.model.objects.filter(**key).exists():
            raise ValidationError({self.key[-1]: [self.taken(values)]})


class RevenueActualAdminForm(RevenueAdminForm):
    key = ("area", "month")
    validator = staticmethod(services.revenue_actual_validate)
    exists_message = "{area} already has an actual for {month:%Y-%m}: change that row instead."
    # A plain number field: the limits are the service's rules, in the service's words.
    revenue = forms.DecimalField(label="Revenue (EUR)")

    class Meta:
        model = RevenueActual
        fields = ("area", "month", "revenue")


class RevenueTargetAdminForm(RevenueAdminForm):
    key = ("area", "fiscal_year")
    validator = staticmethod(services.revenue_target_validate)
    exists_message = "{area} already has a target for FY{fiscal_year}: change that row instead."
    # Plain number fields: the ranges are the service's rules, in the service's words.
    fiscal_year = forms.IntegerField(
        help_text="Named by the year it ends in: FY2025 is July 2024 - June 2025."
    )
    target = forms.DecimalField(label="Target (EUR)")

    class Meta:
        model = RevenueTarget
        fields = ("area", "fiscal_year", "target")


class RevenueAdminMixin(
    HistoryPageMixin, ServiceWriteMixin, RecordedDeleteMixin, ExportMixin, ScopedAdminMixin
):
    """Saves go through the row's upsert; the key is read-only once the row exists."""

    upsert = None  # the service, a staticmethod

    def get_readonly_fields(self, request, obj=None):
        return self.form.key if obj is not None else ()

    def service_write(self, request, form, change):
        values = form.service_values()
        stored, action = self.upsert(**values)
        # Not what the form checked: another user added the key, or deleted the row, meanwhile.
        if not change and action != "created":
            raise ValidationError(form.taken(values))
        if change and action == "created":
            raise ValidationError("The row was deleted.")
        return stored


@admin.register(RevenueActual)
class RevenueActualAdmin(RevenueAdminMixin, admin.ModelAdmin):
    form = RevenueActualAdminForm
    upsert = staticmethod(services.revenue_actual_upsert)
    list_display = ("area", "month", "revenue")
    list_filter = (area_list_filter("area"), FiscalYearFilter)
    date_hierarchy = "month"
    search_fields = ("area",)
    csv_fields = ("id", "area", "month", "revenue")


@admin.register(RevenueTarget)
class RevenueTargetAdmin(RevenueAdminMixin, admin.ModelAdmin):
    form = RevenueTargetAdminForm
    upsert = staticmethod(services.revenue_target_upsert)
    list_display = ("area", "fiscal_year", "fiscal_year_period", "target")
    list_filter = (area_list_filter("area"), "fiscal_year")
    search_fields = ("area",)
    csv_fields = ("id", "area", "fiscal_year", "target")

    @admin.display(description="period")
    def fiscal_year_period(self, obj):
        start, end = fiscal_year_bounds(obj.fiscal_year)
        return f"{start:%b %Y} - {end:%b %Y}"

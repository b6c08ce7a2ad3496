"""Area scopes in the admin: every list, page, filter, autocomplete and export of CRM data shows
only the staff user's areas (crm/scopes.py); and the admin of the grants themselves.

The filter is applied in ``get_queryset``, the one queryset Django's admin derives everything
from: the changelist and its counts, the change, delete and history pages (an object outside
the scope is the admin's own "does not exist"), the actions (CSV and workbook exports, bulk
delete), the date hierarchy and the filters that list values found in the data, and the
autocomplete of a foreign key to the model. Forms offer only the scope's areas and customers,
so a value outside it is refused as one that does not exist. Superusers see everything.

Registered from crm/admin.py.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group

from crm.choices import Area
from crm.models import AreaGrant, Customer
from crm.scopes import scope_for


def scope_areas(request) -> list[str]:
    """The areas of the vocabulary the staff user may see, in the vocabulary's order."""
    scope = scope_for(request.user)
    return [area for area in Area.values if scope.allows(area)]


class ScopedAdminMixin:
    """Rows of the staff user's areas only; ``scope_path`` leads to the area column."""

    scope_path = ""  # "" for the model's own ``area``, "customer__" through the customer

    def get_queryset(self, request):
        return super().get_queryset(request).filter(scope_for(request.user).customer_q(self.scope_path))

    def lookup_allowed(self, lookup, value, request):
        # The area list filter's parameter (area_list_filter) through the customer.
        return lookup == f"{self.scope_path}area__exact" or super().lookup_allowed(lookup, value, request)

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        field = super().formfield_for_choice_field(db_field, request, **kwargs)
        if db_field.name == "area":
            # An area outside the scope is not a choice: refused as "Spain" would be.
            allowed = set(scope_areas(request))
            field.choices = [
                (value, label) for value, label in field.choices if value in allowed or not value
            ]
        return field

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Customer:
            # A customer outside the scope is not found, as a cid that does not exist.
            kwargs["queryset"] = Customer.objects.filter(scope_for(request.user).customer_q())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def area_list_filter(field_path: str) -> type[admin.SimpleListFilter]:
    """The list filter of an area column (``field_path``) that offers only the staff user's areas.

    The URL parameter stays Django's own (``area__exact=France``), so links keep working.
    """

    class AreaListFilter(admin.SimpleListFilter):
        title = "area"
        parameter_name = f"{field_path}__exact"

        def lookups(self, request, model_admin):
            return [(area, area) for area in scope_areas(request)]

        def queryset(self, request, queryset):
            value = self.value()
            return queryset if value is None else queryset.filter(**{self.parameter_name: value})

    return AreaListFilter


# --- The grants --------------------------------------------------------------------------------


class SuperuserOnlyMixin:
    """Only a superuser reads or changes grants: anyone else who could would grant themselves all."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    has_add_permission = has_view_permission
    has_change_permission = has_view_permission
    has_delete_permission = has_view_permission


class AreaGrantForm(forms.ModelForm):
    class Meta:
        model = AreaGrant
        fields = ("user", "group", "area")

    def clean(self):
        cleaned_data = super().clean()
        if bool(cleaned_data.get("user")) == bool(cleaned_data.get("group")):
            # On the field, so the model's check constraint does not say it a second time.
            self.add_error("user", "Give a user or a group, not both.")
        return cleaned_data


@admin.register(AreaGrant)
class AreaGrantAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    """The areas granted to users and groups; a change takes effect on the holder's next request."""

    form = AreaGrantForm
    list_display = ("id", "user", "group", "area")
    list_display_links = ("id", "area")
    list_filter = ("area",)
    list_select_related = ("user", "group")
    search_fields = ("user__username", "group__name")
    autocomplete_fields = ("user", "group")
    list_per_page = 100


class _GrantInline(SuperuserOnlyMixin, admin.TabularInline):
    model = AreaGrant
    extra = 0
    verbose_name = "area grant"
    verbose_name_plural = "area grants (the areas this holder sees and changes)"


class UserGrantInline(_GrantInline):
    fields = ("area",)
    fk_name = "user"


class GroupGrantInline(_GrantInline):
    fields = ("area",)
    fk_name = "group"


User = get_user_model()
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class CrmUserAdmin(UserAdmin):
    inlines = (*UserAdmin.inlines, UserGrantInline)


@admin.register(Group)
class CrmGroupAdmin(GroupAdmin):
    inlines = (*GroupAdmin.inlines, GroupGrantInline)

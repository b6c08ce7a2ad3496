"""Groups, API users and area grants: who may read and who may write which CRM data.

A role (a CRM group) says what a user may do; area grants (crm.models.AreaGrant, crm/scopes.py)
say on which areas. A user's areas are the union of their own grants and their groups'.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from rest_framework.authtoken.models import Token

from ..choices import ALL_AREAS
from ..models import AreaGrant
from ..scopes import AreaScope, access_load

READERS_GROUP = "CRM readers"
EDITORS_GROUP = "CRM editors"

READER_PERMISSIONS = (
    "view_customer",
    "view_opportunity",
    "view_revenueactual",
    "view_revenuetarget",
    "view_change",
)
EDITOR_PERMISSIONS = (
    *READER_PERMISSIONS,
    "add_opportunity",
    "change_opportunity",
    "delete_opportunity",
    # The workbook import (crm.imports): customers, opportunities, actuals and targets.
    "import_data",
)
GROUP_PERMISSIONS = {READERS_GROUP: READER_PERMISSIONS, EDITORS_GROUP: EDITOR_PERMISSIONS}
# The roles by the names manage.py crm_access --role and GET /api/me use.
ROLE_GROUPS = {"reader": READERS_GROUP, "editor": EDITORS_GROUP}


@transaction.atomic
def crm_groups_ensure() -> dict[str, Group]:
    """Create or complete the two CRM groups; running it again changes nothing."""
    groups = {}
    for name, codenames in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = Permission.objects.filter(content_type__app_label="crm", codename__in=codenames)
        group.permissions.add(*perms)
        groups[name] = group
    return groups


@transaction.atomic
def area_grants_set(*, scope: AreaScope, user=None, group=None) -> None:
    """Make ``scope`` the areas granted to ``user`` or to ``group`` itself (exactly one of them).

    Replaces that holder's own grants (ALL is one ``all`` grant; an empty scope removes them
    all); grants through groups are not touched. Each change invalidates the access cache.
    """
    if (user is None) == (group is None):
        raise ValueError("area_grants_set needs exactly one of user and group")
    holder = {"user": user} if user is not None else {"group": group}
    wanted = {ALL_AREAS} if scope.is_all else set(scope.areas)
    existing = {grant.area: grant for grant in AreaGrant.objects.filter(**holder)}
    for area, grant in existing.items():
        if area not in wanted:
            grant.delete()
    for area in sorted(wanted - set(existing)):
        AreaGrant.objects.create(area=area, **holder)


def user_scope(user) -> AreaScope:
    """The areas ``user`` holds now, read from the database (not the cache)."""
    if user.is_superuser:
        return AreaScope.ALL
    return access_load(user).scope


@transaction.atomic
def api_user_ensure(
    *, username: str, group: str, password: str | None = None, areas: AreaScope | None = None
) -> tuple[object, str]:
    """A user in one CRM group, with an API token. Returns (user, token key); idempotent.

    ``areas`` becomes the user's own area grant (``AreaScope.ALL`` for every area). Without
    it the user keeps the grants they have; a user left with none would see nothing, so that
    is refused (ValueError, nothing written): fail closed, and say so.
    """
    groups = crm_groups_ensure()
    if group not in groups:
        raise ValueError(f"unknown group {group!r}; expected one of: {', '.join(groups)}")
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    if user.get_username() != username:
        # MySQL's collation matched another spelling ("Ops" for "ops"): never grant that account.
        raise ValueError(f"user {username!r} does not exist, but {user.get_username()!r} does")
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    user.groups.add(groups[group])
    if areas is not None:
        area_grants_set(user=user, scope=areas)
    elif user_scope(user) == AreaScope.NONE:
        raise ValueError(
            f"user {username!r} has no area grant and would see nothing: "
            "give the areas (--areas France,UK or --areas all)"
        )
    token, _ = Token.objects.get_or_create(user=user)
    return user, token.key

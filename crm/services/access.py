"""Groups and API users: who may read and who may write CRM data."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from rest_framework.authtoken.models import Token

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
def api_user_ensure(*, username: str, group: str, password: str | None = None) -> tuple[object, str]:
    """A user in one CRM group, with an API token. Returns (user, token key); idempotent."""
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
    token, _ = Token.objects.get_or_create(user=user)
    return user, token.key

"""Provisioning the CRM groups and API users."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


def _group_perms():
    return {g.name: sorted(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()}


def test_groups_get_view_rights_and_editors_get_opportunity_writes():
    """Readers may view the four tables and the change history; editors may also write opportunities and
    import the workbook."""
    call_command("crm_access")
    perms = _group_perms()
    assert perms["CRM readers"] == [
        "view_change",
        "view_customer",
        "view_opportunity",
        "view_revenueactual",
        "view_revenuetarget",
    ]
    assert perms["CRM editors"] == sorted(
        [*perms["CRM readers"], "add_opportunity", "change_opportunity", "delete_opportunity", "import_data"]
    )


def test_user_creation_prints_a_token_and_is_idempotent(capsys):
    """A second run with the same user reuses user, group and token."""
    call_command("crm_access", "--user", "etl-bot", "--role", "editor")
    first = capsys.readouterr().out
    perms_before = _group_perms()
    call_command("crm_access", "--user", "etl-bot", "--role", "editor")
    second = capsys.readouterr().out
    token = Token.objects.get(user__username="etl-bot")
    assert f"Token: {token.key}" in first
    assert first == second
    assert _group_perms() == perms_before
    assert list(token.user.groups.values_list("name", flat=True)) == ["CRM editors"]

"""Provisioning the CRM groups and API users."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

from crm.models import AreaGrant
from crm.scopes import AreaScope, scope_for

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
    call_command("crm_access", "--user", "etl-bot", "--role", "editor", "--areas", "all")
    first = capsys.readouterr().out
    perms_before = _group_perms()
    call_command("crm_access", "--user", "etl-bot", "--role", "editor", "--areas", "all")
    second = capsys.readouterr().out
    token = Token.objects.get(user__username="etl-bot")
    assert f"Token: {token.key}" in first
    assert first == second
    assert _group_perms() == perms_before
    assert list(token.user.groups.values_list("name", flat=True)) == ["CRM editors"]


def _grants(**holder) -> list[str]:
    return sorted(AreaGrant.objects.filter(**holder).values_list("area", flat=True))


def test_areas_are_granted_to_the_user_and_printed(capsys):
    """--areas France,UK grants those two areas to the user; the output says which areas they hold."""
    call_command("crm_access", "--user", "fr-uk", "--role", "reader", "--areas", "UK,France")
    out = capsys.readouterr().out
    user = get_user_model().objects.get(username="fr-uk")
    assert _grants(user=user) == ["France", "UK"]
    assert "Areas: France, UK\n" in out
    assert scope_for(user) == AreaScope(frozenset({"France", "UK"}))


def test_areas_all_is_one_grant_and_a_rerun_replaces_the_users_own_grants(capsys):
    """--areas all is a single `all` grant; running again with other areas replaces it."""
    call_command("crm_access", "--user", "ops", "--role", "editor", "--areas", "all")
    user = get_user_model().objects.get(username="ops")
    assert _grants(user=user) == ["all"]
    call_command("crm_access", "--user", "ops", "--role", "editor", "--areas", "Germany")
    assert _grants(user=user) == ["Germany"]
    assert "Areas: Germany\n" in capsys.readouterr().out


def test_a_new_user_without_areas_is_refused_and_nothing_is_written():
    """Fail closed: a user who would hold no area grant is refused, with what to give; no user, no token."""
    with pytest.raises(CommandError, match="has no area grant and would see nothing: give the areas"):
        call_command("crm_access", "--user", "nobody", "--role", "reader")
    assert not get_user_model().objects.filter(username="nobody").exists()
    assert not Token.objects.exists()


def test_an_existing_user_keeps_their_areas_without_the_option(capsys):
    """Without --areas a user who holds a grant keeps it (a second run only prints the token)."""
    call_command("crm_access", "--user", "fr", "--role", "reader", "--areas", "France")
    call_command("crm_access", "--user", "fr", "--role", "reader")
    user = get_user_model().objects.get(username="fr")
    assert _grants(user=user) == ["France"]
    assert capsys.readouterr().out.count("Areas: France\n") == 2


@pytest.mark.parametrize("areas", ["Frnace", "France,Mars", "france"])
def test_an_unknown_area_is_an_error_naming_it(areas):
    """An area outside the vocabulary (or another spelling of one) is refused by name; nothing is created."""
    bad = next(name for name in areas.split(",") if name not in ("France",))
    with pytest.raises(CommandError, match=f"Unknown area '{bad}' in --areas"):
        call_command("crm_access", "--user", "typo", "--role", "reader", "--areas", areas)
    assert not get_user_model().objects.filter(username="typo").exists()


def test_a_groups_areas_are_set_with_group(capsys):
    """--group NAME --areas none removes a group's grants (the upgrade gave existing groups `all`)."""
    call_command("crm_access")
    readers = Group.objects.get(name="CRM readers")
    AreaGrant.objects.create(group=readers, area="all")
    call_command("crm_access", "--group", "CRM readers", "--areas", "none")
    assert _grants(group=readers) == []
    call_command("crm_access", "--group", "CRM readers", "--areas", "Switzerland")
    assert _grants(group=readers) == ["Switzerland"]
    assert "Group CRM readers areas: Switzerland\n" in capsys.readouterr().out

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from crm.choices import ALL_AREAS, Area
from crm.scopes import AreaScope
from crm.services import (
    ROLE_GROUPS,
    api_user_ensure,
    area_grants_set,
    crm_groups_ensure,
    user_scope,
)

GROUP_BY_ROLE = ROLE_GROUPS
NO_AREAS = "none"


def parse_areas(text: str) -> AreaScope:
    """``France,UK``, ``all`` or ``none`` as a scope; an unknown area is an error naming it."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if names == [ALL_AREAS]:
        return AreaScope.ALL
    if names == [NO_AREAS]:
        return AreaScope.NONE
    for name in names:
        if name not in Area.values:
            raise CommandError(
                f"Unknown area {name!r} in --areas: expected {', '.join(Area.values)} "
                f"(comma-separated), {ALL_AREAS} or {NO_AREAS}."
            )
    if not names:
        raise CommandError(f"--areas needs one or more areas, {ALL_AREAS} or {NO_AREAS}.")
    return AreaScope(frozenset(names))


def describe(scope: AreaScope) -> str:
    return ALL_AREAS if scope.is_all else (", ".join(scope.areas) or NO_AREAS)


class Command(BaseCommand):
    help = (
        'Provision the "CRM readers" and "CRM editors" groups; optionally create a user in one '
        "of them, grant their areas and print its API token. Running it again changes nothing. "
        "A user must end with an area grant (their own or a group's): a new user needs --areas."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", help="username to create (or reuse) and give a token")
        parser.add_argument(
            "--role",
            choices=sorted(GROUP_BY_ROLE),
            default="reader",
            help="group for --user (default: reader)",
        )
        parser.add_argument("--password", help="password for a new --user (default: none, token access only)")
        parser.add_argument(
            "--areas",
            help=f"the areas granted to --user (or --group) itself, replacing its own grants: "
            f"comma-separated ({', '.join(Area.values)}), {ALL_AREAS}, or {NO_AREAS} to remove them. "
            "Without it the user keeps their grants; a user with none is refused.",
        )
        parser.add_argument("--group", help="set the areas (--areas) granted to this existing group instead")

    def handle(self, *args, user=None, role="reader", password=None, areas=None, group=None, **options):
        scope = parse_areas(areas) if areas is not None else None
        groups = crm_groups_ensure()
        self.stdout.write(f"Groups ready: {', '.join(groups)}")
        if group is not None:
            self._group_areas(group, scope, user)
        if not user:
            return
        try:
            account, key = api_user_ensure(
                username=user, group=GROUP_BY_ROLE[role], password=password, areas=scope
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"User {user} is in {GROUP_BY_ROLE[role]}.")
        self.stdout.write(f"Areas: {describe(user_scope(account))}")
        self.stdout.write(f"Token: {key}")

    def _group_areas(self, name: str, scope: AreaScope | None, user) -> None:
        if user:
            raise CommandError("--group and --user are separate runs: give one of them.")
        if scope is None:
            raise CommandError("--group needs --areas (e.g. --areas none to remove the group's grants).")
        found = Group.objects.filter(name=name).first()
        if found is None or found.name != name:
            raise CommandError(f"No group named {name!r}.")
        area_grants_set(group=found, scope=scope)
        self.stdout.write(f"Group {name} areas: {describe(scope)}")

from django.core.management.base import BaseCommand, CommandError

from crm.services import EDITORS_GROUP, READERS_GROUP, api_user_ensure, crm_groups_ensure

GROUP_BY_ROLE = {"reader": READERS_GROUP, "editor": EDITORS_GROUP}


class Command(BaseCommand):
    help = (
        'Provision the "CRM readers" and "CRM editors" groups; optionally create a user in one '
        "of them and print its API token. Running it again changes nothing."
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

    def handle(self, *args, user=None, role="reader", password=None, **options):
        groups = crm_groups_ensure()
        self.stdout.write(f"Groups ready: {', '.join(groups)}")
        if not user:
            return
        try:
            _, key = api_user_ensure(username=user, group=GROUP_BY_ROLE[role], password=password)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"User {user} is in {GROUP_BY_ROLE[role]}.")
        self.stdout.write(f"Token: {key}")

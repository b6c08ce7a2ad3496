import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from crm.scopes import AreaScope
from crm.services import EDITORS_GROUP, area_grants_set, crm_groups_ensure

PASSWORD_FILE = settings.BASE_DIR / "var" / "local-admin-password"


class Command(BaseCommand):
    help = "Local development only: an 'admin' superuser with an API token, and how to use them."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args, host, port, **options):
        if not settings.IS_LOCAL:
            raise CommandError("bootstrap_local creates a known admin login: only with ENVIRONMENT=local.")
        groups = crm_groups_ensure()
        User = get_user_model()
        user = User.objects.filter(username="admin").first()
        if user is None or not PASSWORD_FILE.exists():
            # A random password, kept in the git-ignored var/ folder so later runs can show it.
            password = secrets.token_urlsafe(12)
            PASSWORD_FILE.parent.mkdir(exist_ok=True)
            PASSWORD_FILE.write_text(password + "\n", encoding="utf-8")
            PASSWORD_FILE.chmod(0o600)
            user = user or User(username="admin", email="admin@intrasoft.example")
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
        user.groups.add(groups[EDITORS_GROUP])
        # A superuser sees every area anyway; the grant says so where people read grants.
        area_grants_set(user=user, scope=AreaScope.ALL)
        password = PASSWORD_FILE.read_text(encoding="utf-8").strip()
        token, _ = Token.objects.get_or_create(user=user)
        base = f"http://{host}:{port}"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"  Admin:    {base}/admin/   user: admin   password: {password}",
                    f"  API docs: {base}/api/docs/",
                    f"  API:      curl {base}/api/customers -H 'Authorization: Token {token.key}'",
                    "",
                ]
            )
        )

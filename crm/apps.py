from django.apps import AppConfig
from django.conf import settings


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM"

    def ready(self):
        from . import scopes

        # The access cache's invalidation (crm/scopes.py).
        scopes.connect_signals()
        if settings.ECHO_SQL:
            from django.db.backends.signals import connection_created

            connection_created.connect(_echo_sql, dispatch_uid="crm.echo_sql")


def _echo_sql(sender, connection, **kwargs):
    # Django logs statements only in DEBUG; ECHO_SQL asks for them in any environment.
    connection.force_debug_cursor = True

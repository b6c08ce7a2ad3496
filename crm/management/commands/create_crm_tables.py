from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from crm.schema import LEGACY_TABLES, TablesExist, create_legacy_tables, missing_legacy_tables


class Command(BaseCommand):
    help = (
        "Create the four CRM tables (customer, crm_opportunities, revenue_actuals, "
        "revenue_targets) in an empty database. Refuses, changing nothing, if any exists."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="Exit quietly when all four tables already exist (used by `make run`).",
        )

    def handle(self, *args, if_missing=False, **options):
        try:
            create_legacy_tables(connection)
        except TablesExist as exc:
            if if_missing and not missing_legacy_tables(connection):
                self.stdout.write("CRM tables already exist; nothing to do.")
                return
            raise CommandError(str(exc)) from None
        source = "docs/schema.sql" if connection.vendor == "mysql" else "the models"
        self.stdout.write(
            self.style.SUCCESS(f"Created {', '.join(LEGACY_TABLES)} on {connection.vendor} from {source}.")
        )

import datetime

from django.core.management.base import BaseCommand, CommandError

from crm.services import change_purge


class Command(BaseCommand):
    help = (
        "Delete change-history entries written more than DAYS days ago (GET /api/opportunities/{oid}/history "
        "and the change feed lose them). Nothing is purged unless this is run."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", type=int, required=True, metavar="DAYS", help="age in days, 0 or more"
        )

    def handle(self, *args, older_than: int, **options):
        if older_than < 0:
            raise CommandError(f"--older-than must be 0 or more days; got {older_than}")
        try:
            deleted = change_purge(older_than=datetime.timedelta(days=older_than))
        except OverflowError:
            raise CommandError(f"--older-than {older_than} is more days than a date can go back") from None
        noun = "entry" if deleted == 1 else "entries"
        self.stdout.write(f"Deleted {deleted} change-history {noun} older than {older_than} days.")

import datetime

from django.core.management.base import BaseCommand, CommandError

from crm.services import IDEMPOTENCY_KEY_RETENTION, idempotency_key_purge

RETENTION_HOURS = int(IDEMPOTENCY_KEY_RETENTION.total_seconds() // 3600)


class Command(BaseCommand):
    help = (
        "Delete Idempotency-Key records older than the retention (default and minimum: "
        f"{RETENTION_HOURS} hours). Safe to run at any time, e.g. hourly from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-hours",
            type=int,
            default=RETENTION_HOURS,
            help=f"age in hours of the keys to delete (at least {RETENTION_HOURS})",
        )

    def handle(self, *args, older_than_hours: int, **options):
        try:
            deleted = idempotency_key_purge(older_than=datetime.timedelta(hours=older_than_hours))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Deleted {deleted} idempotency key(s) older than {older_than_hours} hours.")

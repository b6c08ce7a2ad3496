from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from crm.management.commands.data_quality import _date
from crm.services import forecast_snapshot_take


class Command(BaseCommand):
    help = (
        "Store today's forecast (every area row and the total) as a snapshot, once per fiscal year and "
        "day: a second run the same day stores nothing and says so. Run it daily (docs/operations.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--fiscal-year",
            type=int,
            help="Fiscal year (default: as the forecast: of --as-of, else of the latest actuals month).",
        )
        parser.add_argument("--as-of", type=_date, help="Day of the forecast, YYYY-MM-DD (default: today).")

    def handle(self, *args, fiscal_year=None, as_of=None, **options):
        try:
            result = forecast_snapshot_take(fiscal_year=fiscal_year, as_of=as_of)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        if result.created:
            self.stdout.write(
                f"Stored the forecast of FY{result.fiscal_year} as of {result.as_of}: {result.rows} rows."
            )
        else:
            self.stdout.write(
                f"A snapshot of FY{result.fiscal_year} as of {result.as_of} is already stored "
                f"({result.rows} rows); nothing was replaced."
            )

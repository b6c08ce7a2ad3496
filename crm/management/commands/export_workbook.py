from django.core.management.base import BaseCommand

from crm.imports.export import workbook_export


class Command(BaseCommand):
    help = (
        "Export the four CRM tables to an XLSX workbook in the import's layout (one sheet per table); "
        "importing it again reports every row unchanged."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE.xlsx")

    def handle(self, *args, file, **options):
        counts = workbook_export(file)
        rows = ", ".join(f"{n} {table}" for table, n in counts.items())
        self.stdout.write(f"Wrote {file}: {rows}.")

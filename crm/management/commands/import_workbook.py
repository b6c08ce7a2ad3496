import json
from contextlib import ExitStack
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crm.imports.reader import FileRejected
from crm.imports.runs import FileTooLarge, import_run
from crm.imports.text import report_as_text

EXIT_ERRORS = 2


class Command(BaseCommand):
    help = (
        "Import the CRM workbook (XLSX, one sheet per table) or CSV files (one per table, named "
        "like the table). Every row goes through the API's rules. Exit 0 when clean, 2 when a row "
        "or the file is in error. Layout and report: docs/import.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="an .xlsx workbook, or .csv files")
        parser.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
        parser.add_argument("--partial", action="store_true", help="write the valid rows even if others fail")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, files, dry_run, partial, json: bool, **options):
        with ExitStack() as stack:
            streams = []
            for name in files:
                try:
                    streams.append((Path(name).name, stack.enter_context(open(name, "rb"))))
                except OSError as exc:
                    raise CommandError(f"{name}: {exc.strerror}", returncode=EXIT_ERRORS) from None
            try:
                run = import_run(files=streams, dry_run=dry_run, partial=partial)
            except (FileRejected, FileTooLarge) as exc:
                raise CommandError(str(exc), returncode=EXIT_ERRORS) from None
        report = run.report
        self.stdout.write(_json.dumps(report, indent=2) if json else report_as_text(report))
        if report["errors"]:
            raise SystemExit(EXIT_ERRORS)


_json = json

import datetime
import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from crm.data_quality import ERROR, DataQualityReport
from crm.scopes import AreaScope
from crm.selectors import data_quality_report


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of: {value!r} is not a date (YYYY-MM-DD).") from None


def report_as_dict(report: DataQualityReport) -> dict:
    return {
        "fiscal_year": report.fiscal_year,
        "as_of": report.as_of.isoformat(),
        "errors": report.errors,
        "warnings": report.warnings,
        "rules": [
            {
                "id": r.id,
                "entity": r.entity,
                "level": r.level,
                "description": r.description,
                "count": r.count,
                "examples": r.examples,
            }
            for r in report.rules
        ],
    }


def report_as_text(report: DataQualityReport) -> str:
    lines = [
        f"Data quality, fiscal year {report.fiscal_year}, as of {report.as_of}: "
        f"{report.errors} error rule(s) and {report.warnings} warning rule(s) broken."
    ]
    for r in report.rules:
        mark = "ok" if r.count == 0 else r.level.upper()
        lines.append(f"{mark:<8} {r.id:<45} {r.count:>5}  {r.description}")
        if r.examples:
            more = f" (+{r.count - len(r.examples)} more)" if r.count > len(r.examples) else ""
            lines.append(f"{'':<8} e.g. {', '.join(r.examples)}{more}")
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Check customers, opportunities and revenue against the data-quality rules (reads only). "
        "Exits non-zero when any error-level rule is broken, so it can gate a data load."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print the report as JSON (as the API)."
        )
        parser.add_argument(
            "--fiscal-year",
            type=int,
            help="Fiscal year (default: as the forecast: of --as-of, else of the latest actuals month).",
        )
        parser.add_argument("--as-of", type=_date, help="Day of the report, YYYY-MM-DD (default: today).")

    def handle(self, *args, as_json=False, fiscal_year=None, as_of=None, **options):
        try:
            report = data_quality_report(fiscal_year=fiscal_year, as_of=as_of, scope=AreaScope.ALL)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        if as_json:
            self.stdout.write(json.dumps(report_as_dict(report), indent=2, ensure_ascii=False))
        else:
            self.stdout.write(report_as_text(report))
        broken = [r.id for r in report.rules if r.level == ERROR and r.count]
        if broken:
            raise CommandError(f"{len(broken)} error-level rule(s) broken: {', '.join(broken)}", returncode=2)

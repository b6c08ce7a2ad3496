"""The report as plain text (manage.py import_workbook without --json)."""


def report_as_text(report: dict) -> str:
    mode = "Dry run" if report["dry_run"] else ("Import (partial)" if report["partial"] else "Import")
    outcome = (
        "nothing written"
        if not report["applied"]
        else "written" + (" (valid rows only)" if report["errors"] else "")
    )
    lines = [f"{mode} {report['id']} of {', '.join(report['files'])}: {report['status']}, {outcome}."]
    for table, counts in report["counts"].items():
        lines.append(f"  {table:<18} " + "  ".join(f"{action} {n:>6}" for action, n in counts.items()))
    for sheet in report["ignored_sheets"]:
        lines.append(f"  ignored sheet: {sheet}")
    for row in report["rows"]:
        if row["action"] == "error":
            continue
        what = row.get("changes") or row.get("values") or {}
        if row["action"] == "updated":
            detail = ", ".join(f"{c}: {v['from']!r} -> {v['to']!r}" for c, v in what.items())
        else:
            detail = ", ".join(f"{c}={v!r}" for c, v in what.items())
        key = ", ".join(f"{k}={v}" for k, v in row["key"].items() if v is not None)
        lines.append(f"  {row['sheet']} row {row['row']}: {row['action']} {key} {detail}".rstrip())
    for error in report["errors"]:
        column = f" {error['column']}" if error["column"] else ""
        lines.append(
            f"  ERROR {error['sheet']} row {error['row']}{column} [{error['code']}]: {error['detail']}"
        )
    return "\n".join(lines)

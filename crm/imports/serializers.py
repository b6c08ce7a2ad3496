"""The import endpoint's request and report, for validation and the OpenAPI schema."""

from rest_framework import serializers

from .engine import ACTIONS
from .layout import TABLES


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="An .xlsx workbook (one sheet per table) or a .csv file named like its table."
    )
    dry_run = serializers.BooleanField(default=False, help_text="Check and report; write nothing.")
    partial = serializers.BooleanField(
        default=False,
        help_text="Write the valid rows even when others are in error (default: all or nothing).",
    )


# One count per outcome, one set of counts per table: both lists come from the engine and layout.
_CountsSerializer = type(
    "ImportTableCountsSerializer",
    (serializers.Serializer,),
    {action: serializers.IntegerField() for action in ACTIONS},
)

ImportCountsSerializer = type(
    "ImportCountsSerializer",
    (serializers.Serializer,),
    {table.name: _CountsSerializer() for table in TABLES},
)


class ImportRowSerializer(serializers.Serializer):
    sheet = serializers.CharField(help_text="The sheet's title, or the CSV file's name.")
    row = serializers.IntegerField(help_text="The row number as Excel shows it (the header is row 1).")
    action = serializers.ChoiceField(choices=["created", "updated", "error"])
    key = serializers.DictField(
        child=serializers.JSONField(), required=False, help_text="The columns the row was matched by."
    )
    changes = serializers.DictField(
        child=serializers.JSONField(), required=False, help_text="updated: {column: {from, to}}."
    )
    values = serializers.DictField(
        child=serializers.JSONField(), required=False, help_text="created: the values."
    )


class ImportErrorSerializer(serializers.Serializer):
    sheet = serializers.CharField()
    row = serializers.IntegerField()
    column = serializers.CharField(help_text="The column's name; empty for a problem of the whole row.")
    code = serializers.CharField()
    detail = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The import's id (recorded, and named by the change history).")
    dry_run = serializers.BooleanField()
    partial = serializers.BooleanField()
    applied = serializers.BooleanField(help_text="Whether any change was written.")
    status = serializers.ChoiceField(choices=["ok", "error"])
    files = serializers.ListField(child=serializers.CharField())
    ignored_sheets = serializers.ListField(child=serializers.CharField())
    counts = ImportCountsSerializer()
    rows = ImportRowSerializer(
        many=True, help_text="Every row created, updated or in error (unchanged rows are counted)."
    )
    errors = ImportErrorSerializer(many=True)

"""The record of each workbook import (project-owned, managed).

Its id is the import's id: the change history names it as the source of every write the
import made, and the admin's two-step import (dry run, then confirm) keeps the uploaded
file here between the steps, so any worker can apply it.
"""

from django.conf import settings
from django.db import models


class ImportRun(models.Model):
    class State(models.TextChoices):
        RUNNING = "running"
        CHECKED = "checked"  # a dry run: reported, nothing written
        APPLIED = "applied"  # written (in partial mode: the valid rows)
        FAILED = "failed"  # rows in error: nothing written
        REJECTED = "rejected"  # the file could not be read

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=255)
    file_size = models.PositiveIntegerField()
    file_sha256 = models.CharField(max_length=64)
    dry_run = models.BooleanField()
    partial = models.BooleanField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    # The report as the door answered it (counts, rows, errors), or the rejection.
    report = models.JSONField(null=True, blank=True)
    # The uploaded file, kept only while a dry run waits for the admin's confirmation.
    content = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "crm_imports"
        ordering = ["-id"]
        permissions = [("import_data", "Can import the CRM workbook")]

    def __str__(self) -> str:
        return f"Import {self.pk}: {self.file_name} ({self.state})"

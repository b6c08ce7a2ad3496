# The history index also holds each entry's time, for the data-quality report (crm/models.py).
# The new index is built before the old one goes, so one row's history is read from an index
# throughout (InnoDB builds it in place, writes go on meanwhile).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0006_area_grants"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="change",
            index=models.Index(fields=["entity", "key", "id", "at"], name="crm_changes_row_at"),
        ),
        migrations.RemoveIndex(
            model_name="change",
            name="crm_changes_row",
        ),
    ]

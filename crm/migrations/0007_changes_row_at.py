# The history index also holds each entry's time, for the data-quality report (crm/models.py).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0006_area_grants"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="change",
            name="crm_changes_row",
        ),
        migrations.AddIndex(
            model_name="change",
            index=models.Index(fields=["entity", "key", "id", "at"], name="crm_changes_row"),
        ),
    ]

"""The HIS's version of each report (when the HIS last changed it), so that an older version of a
report never overwrites a newer one. Reports stored before carry the time they became ready."""

from django.db import migrations, models
from django.db.models import F


def from_reported_at(apps, schema_editor):
    for name in ("CheckupReport", "ExamResult"):
        apps.get_model("reports", name).objects.update(his_updated_at=F("reported_at"))


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="checkupreport",
            name="his_updated_at",
            field=models.DateTimeField(null=True, verbose_name="changed in the HIS at"),
        ),
        migrations.AddField(
            model_name="examresult",
            name="his_updated_at",
            field=models.DateTimeField(null=True, verbose_name="changed in the HIS at"),
        ),
        migrations.RunPython(from_reported_at, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="checkupreport",
            name="his_updated_at",
            field=models.DateTimeField(verbose_name="changed in the HIS at"),
        ),
        migrations.AlterField(
            model_name="examresult",
            name="his_updated_at",
            field=models.DateTimeField(verbose_name="changed in the HIS at"),
        ),
    ]

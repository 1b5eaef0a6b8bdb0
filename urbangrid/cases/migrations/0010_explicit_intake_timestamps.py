"""The intake stamps the cases and reports it writes with the moment it is given (``now``), so their
creation times no longer come from auto_now. SQLite alters a column by rebuilding the table, which
drops the case-numbering trigger (cases/sql.py): it is installed again after the rebuild."""

import django.utils.timezone
from django.db import migrations, models

from urbangrid.cases import sql


def reinstall_sqlite_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor != "sqlite":
        return
    for statement in sql.drop_numbering(vendor) + sql.create_numbering(vendor):
        schema_editor.execute(statement, params=None)  # None: their '%' are not placeholders


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0009_explicit_timestamps"),
    ]

    operations = [
        # Undoing the rebuilds below drops the trigger again: install it after them in reverse too.
        migrations.RunPython(migrations.RunPython.noop, reinstall_sqlite_trigger),
        migrations.AlterField(
            model_name="case",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="case",
            name="updated_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="report",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(reinstall_sqlite_trigger, migrations.RunPython.noop),
    ]

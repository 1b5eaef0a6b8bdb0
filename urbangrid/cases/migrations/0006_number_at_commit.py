"""Case numbers are given by the database, as late as it can: the trigger's SQL and its reasons
live in urbangrid/cases/sql.py (a test checks the installed trigger against it)."""

from django.db import migrations

from urbangrid.cases import sql


def create_trigger(apps, schema_editor):
    for statement in sql.create_numbering(schema_editor.connection.vendor):
        schema_editor.execute(statement, params=None)  # None: their '%' are not placeholders


def drop_trigger(apps, schema_editor):
    for statement in sql.drop_numbering(schema_editor.connection.vendor):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_index_diet")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]

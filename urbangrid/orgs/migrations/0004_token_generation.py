"""API tokens join the scope generation's watched tables (urbangrid/orgs/sql.py says why)."""

from django.db import migrations

from urbangrid.orgs import sql


def create_triggers(apps, schema_editor):
    for statement in sql.create_generation_triggers(schema_editor.connection.vendor, sql.TOKEN_TABLES):
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    for statement in sql.drop_generation_triggers(schema_editor.connection.vendor, sql.TOKEN_TABLES):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("orgs", "0003_scope_generation")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]

"""The scope generation: a value that changes whenever a table a Scope is built from changes. The
triggers' SQL lives in urbangrid/orgs/sql.py (a test checks the installed triggers against it)."""

from django.db import migrations, models

from urbangrid.orgs import sql


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in sql.create_generation_triggers(vendor, sql.SCOPE_TABLES):
        schema_editor.execute(statement, params=None)
    schema_editor.execute(sql.FIRST_GENERATION)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in sql.drop_generation_triggers(vendor, sql.SCOPE_TABLES) + sql.drop_generation_function(vendor):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0002_training_resources"),
        ("geo", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.CreateModel(
            name="ScopeGeneration",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("value", models.BigIntegerField(default=0)),
            ],
            options={
                "verbose_name": "scope generation",
                "verbose_name_plural": "scope generations",
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
